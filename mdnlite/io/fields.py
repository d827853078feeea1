"""The checked schema of a model file: typed reads of its JSON, checked values of its arrays.

``Fields`` wraps one JSON object and reads each field as what it must be (an integer in a
range, one of some strings, a list of numbers of a given length...), raising a
``ModelFileError`` that names the field; ``check_values`` does the same for an array's
values. The file format itself (atomic writes, digests, bounded reads) is in ``io``.
"""

import numpy as np

from ..exceptions import ModelFileError

__all__ = ["Fields", "check_values", "short"]


def short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Fields:
    """A JSON object read from a model file, with checked accessors: each returns the value
    of one field, or raises a ``ModelFileError`` that names it (``where.name``)."""

    def __init__(self, value, where):
        if not isinstance(value, dict):
            raise ModelFileError(f"has an invalid {where}: expected a JSON object, got "
                                 f"{short(value)}")
        self.value, self.where = value, where

    def _get(self, name):
        try:
            return self.value[name]
        except KeyError:
            raise ModelFileError(f"lacks {self.where}.{name}") from None

    def _bad(self, name, expected):
        return ModelFileError(f"has an invalid {self.where}.{name}: expected {expected}, got "
                              f"{short(self.value.get(name))}")

    def fields(self, name):
        """The JSON object ``name`` as ``Fields``."""
        return Fields(self._get(name), f"{self.where}.{name}")

    def integer(self, name, minimum=0, maximum=None):
        value = self._get(name)
        if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
                or (maximum is not None and value > maximum)):
            bound = f"<= {maximum}" if maximum is not None else ""
            raise self._bad(name, f"an integer >= {minimum} {bound}".strip())
        return value

    def boolean(self, name):
        value = self._get(name)
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def choice(self, name, options):
        value = self._get(name)
        if not isinstance(value, str) or value not in options:
            raise self._bad(name, f"one of {list(options)}")
        return value

    def number(self, name, positive=False, finite=True):
        """A real number (not a bool), > 0 if ``positive``, finite if ``finite``."""
        value = self._get(name)
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (finite and not np.isfinite(value)) or (positive and not value > 0)):
            kind = "a finite number" if finite else "a number"
            raise self._bad(name, kind + (" > 0" if positive else ""))
        return value

    def numbers(self, name, length=None, max_length=None, finite=True):
        """A list of real numbers: ``length`` of them, or at most ``max_length``."""
        value = self._get(name)
        ok = isinstance(value, list) and all(
            not isinstance(v, bool) and isinstance(v, (int, float))
            and (not finite or np.isfinite(v)) for v in value)
        if ok and length is not None:
            ok = len(value) == length
        if ok and max_length is not None:
            ok = len(value) <= max_length
        if not ok:
            size = (f"{length} " if length is not None
                    else f"at most {max_length} " if max_length is not None else "")
            raise self._bad(name, f"a list of {size}{'finite ' if finite else ''}numbers")
        return value

    def strings(self, name, length=None, optional=False):
        """A list of strings (``length`` of them if given), or None if ``optional``."""
        value = self._get(name)
        if optional and value is None:
            return None
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)
                and (length is None or len(value) == length)):
            size = f"{length} " if length is not None else ""
            raise self._bad(name, f"a list of {size}strings" + (" or null" if optional else ""))
        return value

    def generator_state(self, name):
        """A numpy PCG64 generator state (``Generator.bit_generator.state``)."""
        value = self._get(name)
        try:
            np.random.Generator(np.random.PCG64()).bit_generator.state = value
        except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
            raise self._bad(name, "the state of a numpy PCG64 generator") from None
        return value


def check_values(arrays, name, minimum=None, strict=False):
    """Raise a ``ModelFileError`` unless every value of ``arrays[name]`` is finite and, if
    ``minimum`` is given, >= it (> it if ``strict``)."""
    a = arrays[name]
    if not np.isfinite(a).all():
        raise ModelFileError(f"has non-finite values in {name!r}")
    if minimum is not None and not (a > minimum if strict else a >= minimum).all():
        raise ModelFileError(f"has values {'<=' if strict else '<'} {minimum} in {name!r}")
