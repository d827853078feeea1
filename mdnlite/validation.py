"""Checks on user input: clear errors that name the argument, never a NaN from deep inside.

Data checks return a 2-D floating array on the requested device; argument checks return the
value in its plain Python type. Either raises a ValueError / TypeError that says which
argument is wrong and how. Estimators and heads declare their arguments once, in a
``_parameter_constraints`` table of the rules below (``Integer``, ``Real``, ``Options``,
``Boolean``, ``Rule``), checked by ``check_params``: one message per kind of fault.
"""

import math
import numbers
import warnings

import numpy as np

from .backend import array_module, to_host

__all__ = ["check_array", "check_pair", "check_positive_int", "check_fraction", "check_number",
           "check_real", "check_random_state", "feature_names", "check_feature_names",
           "Integer", "Real", "Options", "Boolean", "Rule", "check_params"]


def check_array(a, name, *, xp, dtype, n_features=None, owner="the model"):
    """Validate one data argument and return it as an (N, F) array of ``dtype`` on ``xp``.

    Parameters
    ----------
    a : array-like, (N,) or (N, F), NumPy or CuPy
        A 1-D array is one feature per sample.
    name : str
        The argument's name, for the error messages ("X", "y", ...).
    xp : module
        Where the result lives. Data on another device is moved explicitly.
    dtype : numpy.dtype or None
        None keeps the data's own numeric dtype (no conversion copy).
    n_features : int, optional
        The number of columns the model was fitted with.
    owner : str
        Who expects them, for the error message (the estimator's class name).

    Raises
    ------
    TypeError
        Non-numeric data (strings, objects that are not numbers, booleans), sparse
        matrices.
    ValueError
        Complex numbers, wrong number of dimensions, no samples, no features, NaN or
        infinity, or a feature count other than ``n_features``.
    """
    if a is None:
        raise TypeError(f"{name} is None: give an array of numbers, (N,) or (N, n_features)")
    if _is_sparse(a):
        raise TypeError(f"{name} is a sparse matrix: sparse input is not supported; "
                        f"convert it with {name}.toarray() if it fits in memory")
    source = array_module(a) if hasattr(a, "dtype") else np
    if source is np:
        try:
            a = np.asarray(a)  # lists and scalars too; checked on the host, moved below
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} must be a rectangular array of numbers ({exc})") from None
    elif xp is np:
        a = to_host(a)  # a device array for a host model: one explicit copy
    kind = np.dtype(a.dtype).kind
    if kind == "O":  # numbers held as Python objects (a mixed data frame, say) are numbers
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers; converting its objects failed: "
                            f"{exc}") from None
        kind = "f"
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {a.dtype}")
    if kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    elif a.ndim != 2:
        raise ValueError(f"{name} must be 1-D (N,) or 2-D (N, n_features), got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={a.shape}) while a minimum of "
                         f"1 is required: {name} is empty")
    if a.shape[1] == 0:
        raise ValueError(f"Found array with 0 feature(s) (shape={a.shape}) while a minimum "
                         f"of 1 is required: {name} has no features")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"{name} has {a.shape[1]} features, but {owner} is expecting "
                         f"{n_features} features as input. Reshape your data if {name} holds "
                         f"one sample a row: a 1-D {name} is read as one feature")
    a = xp.asarray(a)
    if kind == "f" and not bool(xp.isfinite(a).all()):
        bad = int((~xp.isfinite(a)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or infinity (in {bad} of {a.shape[0]} rows)")
    if dtype is not None and a.dtype != dtype:
        with np.errstate(over="ignore"):
            a = a.astype(dtype)
        if not bool(xp.isfinite(a).all()):
            raise ValueError(f"{name} has values too large for {np.dtype(dtype).name}")
    return a


def check_pair(X, y, *, xp, dtype, n_features=None, n_targets=None, names=("X", "y"),
               owner="the model"):
    """Validate inputs and targets together: both as ``check_array``, with equal lengths."""
    x_name, y_name = names
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None")
    X = check_array(X, x_name, xp=xp, dtype=dtype, n_features=n_features, owner=owner)
    y = check_array(y, y_name, xp=xp, dtype=dtype)
    if n_targets is not None and y.shape[1] != n_targets:
        raise ValueError(f"{y_name} has {y.shape[1]} target dimensions, but {owner} is "
                         f"expecting {n_targets}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{x_name} and {y_name} must have the same number of samples, got "
                         f"{X.shape[0]} and {y.shape[0]}")
    return X, y


def check_positive_int(value, name, minimum=1):
    """Return ``value`` as an int >= ``minimum``; a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_hidden_sizes(value):
    """``hidden_sizes`` as a tuple of positive ints (one int is one layer)."""
    if not isinstance(value, (int, np.integer, list, tuple, np.ndarray)):
        raise TypeError(f"hidden_sizes must be a sequence of positive integers, got {value!r}")
    sizes = (value,) if isinstance(value, (int, np.integer)) else value
    return tuple(check_positive_int(width, "hidden_sizes entries") for width in sizes)


def check_fraction(value, name, closed=False):
    """Return ``value`` as a float in [0, 1) ([0, 1] if ``closed``); a clear error otherwise."""
    value = check_number(value, name)
    if not (0 <= value <= 1 if closed else 0 <= value < 1):
        raise ValueError(f"{name} must be in [0, 1{']' if closed else ')'}, got {value!r}")
    return float(value)


def check_unit_levels(levels, name):
    """``levels`` (a number or an array-like of numbers) as a host float64 vector, each
    strictly between 0 and 1. Text ('0.5', a pandas "string" column), booleans and object
    arrays are refused, not converted: a level is a number."""
    if isinstance(levels, (str, bytes)) or isinstance(levels, bool) or levels is None:
        raise TypeError(f"{name} must be a number or an array of numbers in (0, 1), got "
                        f"{levels!r}")
    a = np.asarray(levels)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be numbers in (0, 1), got an array of "
                        f"{'booleans' if a.dtype.kind == 'b' else a.dtype}: {levels!r}")
    q = a.astype(np.float64).reshape(-1)
    if q.size == 0 or not ((q > 0) & (q < 1)).all():
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {levels!r}")
    return q


def check_number(value, name):
    """Return ``value`` as a float if it is a real number (not a bool); a TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_real(value, name, minimum=0.0, strict=False):
    """Return ``value`` as a float, finite and >= ``minimum`` (> if ``strict``; NaN fails).

    The one check of "a finite number >= 0" (or "> 0") that every argument of that kind uses.
    """
    value = check_number(value, name)
    if not (minimum < value < math.inf if strict else minimum <= value < math.inf):
        bound = f"{'>' if strict else '>='} {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def check_random_state(random_state):
    """A host ``numpy.random.Generator`` from None, an integer >= 0 or a Generator.

    A Generator is used as it is (not copied); every random number of mdnlite comes from such
    a host generator, so one seed gives the same run on every backend.
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be an integer >= 0, got {random_state!r}")
        return np.random.default_rng(int(random_state))
    raise TypeError(f"random_state must be None, an integer >= 0 or a numpy.random.Generator, "
                    f"got {random_state!r}")


def feature_names(X):
    """The column names of a data frame X as an object array of str, or None.

    As in scikit-learn: names count only when every column name is a string (a frame with
    the default integer columns has none); mixing strings with other names is an error.
    """
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = list(columns)
    kinds = {isinstance(n, str) for n in names}
    if kinds == {True}:
        return np.asarray(names, dtype=object)
    if kinds == {True, False}:
        raise TypeError("X has column names of mixed types (some strings, some not); "
                        "make them all strings, e.g. X.columns = X.columns.astype(str)")
    return None


def check_feature_names(model, X):
    """Refuse X whose column names differ from those the model was fitted with, as
    scikit-learn does; warn when only one of the two had names."""
    fitted = getattr(model, "feature_names_in_", None)
    given = feature_names(X)
    name = type(model).__name__
    if fitted is None and given is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                      UserWarning, stacklevel=4)
    elif given is None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                      "feature names", UserWarning, stacklevel=4)
    elif len(given) != len(fitted) or np.any(given != fitted):
        unseen = [n for n in given if n not in set(fitted)]
        missing = [n for n in fitted if n not in set(given)]
        detail = []
        if unseen:
            detail.append(f"names unseen at fit time: {unseen}")
        if missing:
            detail.append(f"names seen at fit time, yet now missing: {missing}")
        if not detail:
            detail.append(f"the same names in another order; fitted with {list(fitted)}")
        raise ValueError("The feature names should match those that were passed during "
                         f"fit ({'; '.join(detail)})")


def _is_sparse(a):
    """A SciPy (or CuPy) sparse matrix or array, recognised without importing SciPy."""
    module = type(a).__module__ or ""
    return (module.startswith(("scipy.sparse", "cupyx.scipy.sparse"))
            or (hasattr(a, "tocsr") and hasattr(a, "nnz")))


# --- the declarative parameter table ------------------------------------------------------------
#
# ``_parameter_constraints = {"name": rule, ...}`` on a class; ``check_params(obj)`` checks every
# entry and returns the checked values. A rule built with ``auto=True`` also accepts the string
# "auto" (a value that the fit chooses from the data).


class _Constraint:
    auto = False

    def check(self, value, name):
        if self.auto and isinstance(value, str) and value == "auto":
            return value
        return self._check(value, name)


class Integer(_Constraint):
    """An integer (not a bool) >= ``minimum``."""

    def __init__(self, minimum=1, auto=False):
        self.minimum, self.auto = minimum, auto

    def _check(self, value, name):
        return check_positive_int(value, name, self.minimum)


class Real(_Constraint):
    """A finite real number (not a bool) >= ``minimum``, or > it if ``strict``; None too if
    ``none``; below ``below`` (open) if given."""

    def __init__(self, minimum=0.0, strict=False, auto=False, none=False, below=None,
                 auto_message=True):
        self.minimum, self.strict, self.auto, self.none = minimum, strict, auto, none
        self.below, self.auto_message = below, auto_message

    def _check(self, value, name):
        if self.none and value is None:
            return None
        if self.auto and self.auto_message:  # the message says that "auto" was possible too
            number = check_number(value, name)
            if not self.minimum <= number < math.inf:
                raise ValueError(f"{name} must be 'auto' or a finite number >= "
                                 f"{self.minimum:g}, got {value!r}")
            return number
        if self.below is not None:
            number = check_number(value, name)
            if not self.minimum < number < self.below:
                raise ValueError(f"{name} must be in ({self.minimum:g}, {self.below:g}), "
                                 f"got {value!r}")
            return number
        return check_real(value, name, self.minimum, self.strict)


class Options(_Constraint):
    """One of the given strings."""

    def __init__(self, *choices):
        self.choices = choices

    def check(self, value, name):
        if not isinstance(value, str) or value not in self.choices:
            allowed = (" or ".join(map(repr, self.choices)) if len(self.choices) == 2
                       else f"one of {self.choices}")
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return value


class Boolean(_Constraint):
    """True or False (a NumPy bool too); "auto" as well if ``auto``."""

    def __init__(self, auto=False):
        self.auto = auto

    def _check(self, value, name):
        if not isinstance(value, (bool, np.bool_)):
            if self.auto:
                raise ValueError(f"{name} must be True, False or 'auto', got {value!r}")
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return bool(value)


class Rule(_Constraint):
    """A check of its own: ``function(value, name)`` returns the checked value or raises."""

    def __init__(self, function):
        self.function = function

    def check(self, value, name):
        return self.function(value, name)


def check_params(obj, table=None):
    """Check ``obj``'s arguments against ``table`` (default: its ``_parameter_constraints``),
    in the table's order; return {name: checked value}."""
    table = type(obj)._parameter_constraints if table is None else table
    return {name: rule.check(getattr(obj, name), name) for name, rule in table.items()}
