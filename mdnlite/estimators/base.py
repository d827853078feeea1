"""The fit loop shared by ``MDN`` and ``Regressor``, in scikit-learn's conventions.

``__init__`` only stores hyperparameters; ``fit`` checks them and the data, builds the network
and trains it in minibatches; learned state ends in ``_``. Subclasses say which loss sits on
top of the network (``_make_loss``) and what to predict from its raw outputs.
"""

import functools
import inspect
import math
import sys
import warnings

import numpy as np

from .. import io
from .. import mixture
from . import training
from ..backend import array_module, get_xp, resolve_dtype
from .callbacks import EarlyStopping
from ..nn.layers import make_activation
from ..nn.network import Parallel, mlp, n_parameters
from ..nn.optim import make_optimizer
from .parameters import Params
from .progress import check_verbose, progress
from .scaling import Standardizer
from .training import EVAL_BATCH, DivergenceWarning, NonFiniteLossError, OverfittingWarning
from ..validation import (
    check_array,
    check_fraction,
    check_number,
    check_pair,
    check_positive_int,
    check_feature_names,
    check_random_state,
    feature_names,
)

__all__ = ["NetworkEstimator", "NonFiniteLossError", "DivergenceWarning", "OverfittingWarning",
           "NotFittedError", "auto_noise", "auto_early_stopping",
           "auto_epochs", "auto_weight_decay", "AUTO_STEPS"]

AUTO_STEPS = 10_000  # optimizer steps of a fit with max_epochs="auto"
# training rows on which the end of a fit is judged (``DivergenceWarning``): enough for the
# mean loss to a few hundredths of its spread, few enough that partial_fit, which judges
# each call, pays two small forward passes
WATCH_ROWS = 4096
SCHEDULES = ("cosine", "constant")


def auto_epochs(n_samples, batch_size):
    """Epochs for about AUTO_STEPS optimizer steps: ceil(AUTO_STEPS / ceil(N / batch_size))."""
    return max(1, math.ceil(AUTO_STEPS / math.ceil(n_samples / batch_size)))


def auto_noise(n_samples, n_dims=1):
    """The default noise level, in standardised units, for N training samples of d columns.

    h = min(NOISE_SCALE d / sqrt(N), NOISE_MAX). For the targets d = 1 whatever their
    number: h = 1.4 / sqrt(N), 0.081 for N = 300, 0.014 for N = 10,000. The constant was
    chosen on ``benchmarks/quality.py``: there, N = 300 needs h near 0.1 (0.07 suits the
    inverse sine best, 0.2 the spiral; none at all overfits to NLLs of tens of nats), while
    at N = 10,000 any h above 0.02 already costs accuracy. For the inputs d is their number
    of columns: each column is one more direction in which a network can single out the
    training rows, and the noise on each grows with their number (0.50 for N = 500 and
    d = 8, 0.17 for N = 5,600 and d = 9). Chosen on ``benchmarks/tabular.py``, against the
    1 / sqrt(N) of one input (which leaves tables of 7-19 columns memorised) and a kernel
    bandwidth's N^(-1/(1 + d)) (which shrinks so slowly that 5,600 rows of 9 inputs are
    smoothed flat: 0.35 nats worse there).
    """
    return min(NOISE_SCALE * n_dims / math.sqrt(n_samples), NOISE_MAX)


NOISE_SCALE, NOISE_MAX = 1.4, 1.0


def auto_early_stopping(n_features, n_validation):
    """Whether ``early_stopping="auto"`` holds rows out and stops early: with more than one
    input, when the held-out part has at least MIN_VALIDATION_ROWS rows.

    With one input the noise of ``auto_noise`` is regularisation enough (it was tuned on
    one-input problems, and holding rows out only costs them data: the inverse sine at
    N = 300 loses 0.02 nats); with several, how strongly to smooth depends on how much each
    input matters, which no rule of N and d knows, and the held-out loss measures it.
    """
    return n_features > 1 and n_validation >= MIN_VALIDATION_ROWS


MIN_VALIDATION_ROWS = 10
PATIENCE_STEPS = 2500  # early stopping waits this many optimizer steps past the best epoch


def auto_weight_decay(n_samples):
    """The default L2 penalty for N training samples: WEIGHT_DECAY_SCALE / N (0.01 for N = 300).

    The mean loss plus (λ/2) |w|² is, times N, the negative log-posterior under a Gaussian
    prior of precision N λ on every weight; λ = 3 / N keeps that prior fixed, N(0, 1/3).
    """
    return WEIGHT_DECAY_SCALE / n_samples


WEIGHT_DECAY_SCALE = 3.0



# The network and training hyperparameters, documented once: every estimator's docstring has
# a "{network_parameters}" slot, filled by ``document_parameters`` with these entries and the
# defaults of its own __init__.
NETWORK_PARAMETERS = """\
hidden_sizes : sequence of int
    Widths of the hidden layers.
activation : str
    Hidden activation: "tanh", "relu", "sigmoid", "softplus", "elu" or "identity".
optimizer : {"adam", "rmsprop", "sgd"}
    The update rule: ``optim.Adam``, ``optim.RMSProp`` or ``optim.SGD`` (no momentum),
    its other hyperparameters at their defaults (see ``optim``).
learning_rate : float > 0
    The optimizer's step size: that of the first epoch, which ``learning_rate_schedule``
    and callbacks may lower.
weight_decay : float >= 0 or "auto"
    L2 penalty on all parameters (see ``optim.Optimizer``). "auto" is
    ``auto_weight_decay(N)`` = 3 / N for N training samples: a fixed Gaussian prior on
    the weights, N(0, 1/3), whose pull on the mean loss fades as the data grow.
clip_norm : float > 0 or None
    Global gradient-norm clipping.
max_epochs : int >= 1 or "auto"
    Passes over the training data per ``fit`` (fewer if a callback stops it). "auto"
    trains for about ``AUTO_STEPS`` = 10,000 optimizer steps whatever the data size:
    ceil(10,000 / steps per epoch) epochs, with ceil(N / batch_size) steps per epoch
    (5,000 epochs of 2 steps for N = 300, 250 epochs of 40 steps for N = 10,000).
batch_size : int >= 1
    Minibatch size; the data are reshuffled every epoch.
learning_rate_schedule : {"cosine", "constant"}
    "cosine" lowers the learning rate of each epoch e of a fit of E epochs to
    learning_rate (0.01 + 0.99 (1 + cos(π e / E)) / 2), from learning_rate at the start
    to 1% of it at the end; a callback that changes the rate (``ReduceLROnPlateau``)
    scales the rest of the schedule. "constant" keeps learning_rate.
standardize : bool
    Centre and scale each input and target column on the training data (its mean and
    standard deviation, ``standardizer_``) before the network sees it. Every prediction,
    score and sample is still in the units of y: the network works in standardised
    units, and scores include the log-Jacobian -Σ_d log s_d, so a held-out NLL does not
    depend on the units of y. The statistics are learned once, by the first ``fit``;
    warm starts and ``partial_fit`` keep them.
input_noise, target_noise : float >= 0 or "auto"
    Standard deviation of the Gaussian noise added afresh to the (standardised) inputs
    and targets of every training minibatch: noise regularisation (Rothfuss et al.
    2019), a smoothing that keeps small data sets from being memorised. Never applied
    to validation data or predictions. "auto" is ``auto_noise(N, d)`` for N training
    samples: 1.4 d / sqrt(N), at most 1, with d the number of input columns for the
    inputs and d = 1 for the targets (1.4 / sqrt(N)); it shrinks as the data grow, and
    grows with the number of inputs. The ``MDN`` defaults to "auto"; the
    ``Regressor`` to 0 (noise on x would blur the fitted mean, and on y it only slows
    least squares down).
early_stopping : bool or "auto"
    Hold ``validation_fraction`` of the rows out of training (drawn at random), score
    them after every epoch, keep the weights of the epoch that scored best, and stop
    once it has not improved for 10 epochs and ``PATIENCE_STEPS`` (2,500) optimizer
    steps (``callbacks.EarlyStopping``); ``best_epoch_`` records it. With
    ``validation_data`` or ``validation_split`` given to ``fit``, those rows are scored
    instead and nothing more is held out. "auto" does so when the inputs have more than
    one column and the held-out part has at least 10 rows (``auto_early_stopping``): on
    a table of several inputs, how strongly to smooth is something the held-out loss
    measures and no rule of N and d knows; with one input the noise rule suffices.
validation_fraction : float in (0, 1)
    The fraction of the rows that early stopping holds out.
backend : {"numpy", "cupy", "auto"}
    Where the network lives and computes: NumPy on the CPU, CuPy on a CUDA device, or
    "auto", CuPy when it imports and sees a device and NumPy otherwise. Predictions come
    back on that device.
dtype : {"float32", "float64"}
    The precision of the weights and of the network's arithmetic. Results are float32
    for float32 X and float64 otherwise, whatever the network computes in.
random_state : None or int
    Seeds the initial weights, the shuffling and the validation split.
warm_start : bool
    If True, ``fit`` on a fitted model continues from its weights and optimizer state.
verbose : {"auto", 0, 1, 2}
    Progress of a fit on standard error (see ``progress``): "auto" a progress bar
    (tqdm's when installed) on a terminal and nothing elsewhere; 0 nothing; 1 the bar on a
    terminal and a plain line about 20 times per fit elsewhere; 2 a plain line every
    epoch.
"""


def document_parameters(cls):
    """Fill the ``{network_parameters}`` slot of ``cls``'s docstring: NETWORK_PARAMETERS, each
    entry's type line ending in the default that ``cls.__init__`` really has."""
    if not cls.__doc__ or "{network_parameters}" not in cls.__doc__:
        return
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}
    lines = []
    for line in NETWORK_PARAMETERS.splitlines():
        if line and not line[0].isspace():  # "name : type" or "a, b : type"
            default = defaults[line.partition(" : ")[0].split(", ")[0]]
            shown = f'"{default}"' if isinstance(default, str) else repr(default)
            line = f"{line}, default={shown}"
        lines.append("    " + line if line else "")
    cls.__doc__ = cls.__doc__.replace("    {network_parameters}\n", "\n".join(lines) + "\n")


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    When scikit-learn is loaded, the error raised is also an instance of scikit-learn's
    ``NotFittedError`` (see ``not_fitted``), so either ``except`` clause catches it.
    """


def not_fitted(model):
    """The error for a method of ``model`` called before ``fit``: an mdnlite
    ``NotFittedError``, which is also scikit-learn's if scikit-learn has been imported."""
    message = f"this {type(model).__name__} is not fitted yet: call fit first"
    theirs = getattr(sys.modules.get("sklearn.exceptions"), "NotFittedError", None)
    if theirs is None:
        return NotFittedError(message)
    return _with_sklearn_error(theirs)(message)


@functools.lru_cache(maxsize=None)
def _with_sklearn_error(theirs):
    return type("NotFittedError", (NotFittedError, theirs), {"__module__": __name__})


class NetworkEstimator(Params):
    """Hyperparameters and training loop common to the network estimators.

    Parameters
    ----------
    {network_parameters}
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        io.register(cls)  # so that io.load can rebuild it
        document_parameters(cls)

    def __init__(self, hidden_sizes=(64, 64), activation="relu", optimizer="adam",
                 learning_rate=3e-3, weight_decay="auto",
                 clip_norm=None, max_epochs="auto", batch_size=256,
                 learning_rate_schedule="cosine", standardize=True, input_noise=0.0,
                 target_noise=0.0, early_stopping="auto", validation_fraction=0.1,
                 backend="numpy", dtype="float32", random_state=None, warm_start=False,
                 verbose="auto"):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate_schedule = learning_rate_schedule
        self.standardize = standardize
        self.input_noise = input_noise
        self.target_noise = target_noise
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # --- building ------------------------------------------------------------------------------

    def _check_params(self):
        """Check every hyperparameter; return (xp, dtype). Called at the start of fit."""
        if not isinstance(self.hidden_sizes, (int, np.integer, list, tuple, np.ndarray)):
            raise TypeError(f"hidden_sizes must be a sequence of positive integers, got "
                            f"{self.hidden_sizes!r}")
        sizes = self.hidden_sizes
        if isinstance(sizes, (int, np.integer)):
            sizes = (sizes,)
        for width in sizes:
            check_positive_int(width, "hidden_sizes entries")
        make_activation(self.activation)
        make_optimizer(self.optimizer, learning_rate=self.learning_rate,
                       weight_decay=0.0 if self.weight_decay == "auto" else self.weight_decay,
                       clip_norm=self.clip_norm)
        if not (isinstance(self.max_epochs, str) and self.max_epochs == "auto"):
            check_positive_int(self.max_epochs, "max_epochs")
        check_positive_int(self.batch_size, "batch_size")
        if self.learning_rate_schedule not in SCHEDULES:
            raise ValueError(f"learning_rate_schedule must be one of {SCHEDULES}, got "
                             f"{self.learning_rate_schedule!r}")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")
        for name in ("input_noise", "target_noise"):
            value = getattr(self, name)
            if isinstance(value, str) and value == "auto":
                continue
            if not 0 <= check_number(value, name) < math.inf:
                raise ValueError(f"{name} must be 'auto' or a finite number >= 0, got "
                                 f"{value!r}")
        if not (isinstance(self.early_stopping, (bool, np.bool_))
                or (isinstance(self.early_stopping, str) and self.early_stopping == "auto")):
            raise ValueError(f"early_stopping must be True, False or 'auto', got "
                             f"{self.early_stopping!r}")
        if not 0 < check_fraction(self.validation_fraction, "validation_fraction"):
            raise ValueError(f"validation_fraction must be in (0, 1), got "
                             f"{self.validation_fraction!r}")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be True or False, got {self.warm_start!r}")
        check_verbose(self.verbose)
        check_random_state(self.random_state)
        self._hidden = tuple(int(w) for w in sizes)
        return get_xp(self.backend), resolve_dtype(self.dtype)

    # parameters added since the first release, with the values that a model saved or
    # pickled before they existed was trained with: ``io.load`` and unpickling fill them in
    _PARAMS_ADDED = {"early_stopping": False, "validation_fraction": 0.1}

    def __setstate__(self, state):
        for name, value in self._PARAMS_ADDED.items():
            state.setdefault(name, value)
            if name in self._ARCHITECTURE and "_architecture" in state:  # as it was fitted
                state["_architecture"].setdefault(name, value)
        if "network_" in state:
            state.setdefault("best_epoch_", None)
        self.__dict__.update(state)

    # the parameters that shape the fitted network: a saved file records them as fitted, even
    # if set_params changed them since (the change takes effect at the next fit)
    _ARCHITECTURE = ("hidden_sizes", "activation", "dtype", "standardize")

    def _saved_params(self):
        params = self.get_params()
        params.update(self._architecture)
        return params

    def _initialise(self, n_features, n_targets, xp, dtype, scaler, layout=(2, None)):
        """Build the network and reset the learned state; ``layout`` is (the number of
        dimensions of y, the feature names of X or None) of the data fitted."""
        self._architecture = {k: getattr(self, k) for k in self._ARCHITECTURE}
        self._target_ndim, names = layout
        if names is None:
            self.__dict__.pop("feature_names_in_", None)
        else:
            self.feature_names_in_ = names
        self.standardizer_ = scaler
        self._rng = check_random_state(self.random_state)
        self.n_features_in_, self.n_targets_ = n_features, n_targets
        self.loss_ = self._make_loss(n_targets)
        sizes = [n_features, *self._hidden, self.loss_.n_outputs]
        members = [mlp(sizes, self.activation, rng=self._rng, backend=xp, dtype=dtype)
                   for _ in range(self._n_members)]
        self.network_ = members[0] if len(members) == 1 else Parallel(members)
        self.optimizer_ = make_optimizer(self.optimizer, learning_rate=self.learning_rate,
                                         clip_norm=self.clip_norm)
        self.loss_curve_, self.validation_loss_curve_, self.learning_rate_curve_ = [], [], []
        self.n_epochs_ = 0
        self.best_epoch_ = None

    def _make_loss(self, n_targets):
        raise NotImplementedError

    _n_members = 1  # networks trained side by side (an ensemble: ``MDN(n_members=M)``)

    @property
    def _xp(self):
        return array_module(self.network_.flat_params)

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise not_fitted(self)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    # --- training ------------------------------------------------------------------------------

    def fit(self, X, y, *, validation_data=None, validation_split=0.0, callbacks=(),
            verbose=None):
        """Train on X (N,) or (N, D_in) and y (N,) or (N, D); returns self.

        Parameters
        ----------
        validation_data : (X_val, y_val), optional
            Held-out data whose loss is recorded each epoch (``validation_loss_curve_``).
        validation_split : float in [0, 1)
            Otherwise, this fraction of (X, y), drawn at random, is held out instead.
        callbacks : ``callbacks.Callback`` or a sequence of them
        verbose : {"auto", 0, 1, 2}, optional
            Overrides the constructor's ``verbose`` for this call.

        Raises
        ------
        NonFiniteLossError
            The training loss became NaN or infinite; the model keeps the weights (and
            optimizer state) of the last epoch that ended finite, if they give a finite loss
            on every training sample, and otherwise those it had before this fit (with the
            curves and ``n_epochs_`` as they were then). The error's ``usable`` says whether
            the kept weights give a finite loss.
        KeyboardInterrupt
            Training was interrupted: the epoch in progress is undone (weights, optimizer
            state and curves agree, ``n_epochs_ == len(loss_curve_)`` for a first fit), the
            callbacks' ``on_train_end`` runs (``EarlyStopping(restore_best_weights=True)``
            puts back the best weights), and the model is fitted; the interrupt propagates.

        Warns
        -----
        DivergenceWarning
            Training ended with a model that is likely useless (see ``DivergenceWarning``):
            the message names the epoch and a remedy.
        """
        xp, dtype = self._check_params()
        split = check_fraction(validation_split, "validation_split")
        if validation_data is not None and split:
            raise ValueError("give validation_data or validation_split, not both")
        # every check comes before anything changes: a refused fit leaves a fitted model as it was
        continuing = self.warm_start and hasattr(self, "network_")
        if continuing:
            X, y = self._check_data(X, y)
            xp, dtype, scaler = self._xp, self.network_.flat_params.dtype, self.standardizer_
        else:
            X, y, scaler, layout = self._first_data(X, y, xp)
        data = training.pack(X, y, xp, dtype, scaler)
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, y_val = check_pair(*validation_data, xp=xp, dtype=None,
                                      n_features=X.shape[1], n_targets=y.shape[1],
                                      names=("X_val", "y_val"), owner=type(self).__name__)
            val = training.pack(X_val, y_val, xp, dtype, scaler, names=("X_val", "y_val"))
        n_val = int(round(split * X.shape[0]))
        if split and not 1 <= n_val < X.shape[0]:
            raise ValueError(f"validation_split={split} leaves no training or no validation "
                             f"samples out of {X.shape[0]}")
        given = X_val.shape[0] if validation_data is not None else n_val  # the caller's
        callbacks = _check_callbacks(callbacks, validation=None)
        stopper = self._early_stopper(X.shape, given, callbacks, continuing)
        _check_callbacks(callbacks, validation=bool(given) or stopper is not None)
        if stopper is not None:
            callbacks.append(stopper)
            if not given:
                split = float(self.validation_fraction)
                n_val = int(round(split * X.shape[0]))
        verbose = check_verbose(self.verbose if verbose is None else verbose)
        if not continuing:
            self._initialise(X.shape[1], y.shape[1], xp, dtype, scaler, layout)
        del X, y  # only the packed copy is used from here on
        rows = np.arange(data.shape[0], dtype=np.int32 if data.shape[0] < 2**31 else np.int64)
        if split:
            self._rng.shuffle(rows)
            val, rows = data[xp.asarray(rows[:n_val])], rows[n_val:]
        elif validation_data is None:
            val = None
        if not continuing:
            self._initialise_output(data[xp.asarray(rows)] if split else data)
        n_epochs = (auto_epochs(len(rows), self.batch_size) if self.max_epochs == "auto"
                    else self.max_epochs)
        noise = self._regularise(len(rows))
        schedule = self.learning_rate_schedule == "cosine"
        base_rate = self.learning_rate if schedule else None
        for cb in callbacks:
            cb.on_train_begin(self)
        watch = self._watch(data, rows)  # what _warn_if_diverged compares the end with
        before = self._training_state()  # where a NonFiniteLossError may have to go back to
        self.best_epoch_ = None  # until this fit has stopped early
        display = progress(verbose, n_epochs)
        try:
            for epoch in range(n_epochs):
                if schedule:
                    self.optimizer_.learning_rate = base_rate * _cosine(epoch, n_epochs)
                logs = self._train_epoch(data, rows, val, noise)
                if display is not None:
                    display.update(epoch, logs, self.learning_rate_curve_[-1])
                stop = [cb.on_epoch_end(self, epoch, logs) for cb in callbacks]
                if schedule:  # a callback's change of the rate scales the rest of the schedule
                    base_rate = self.optimizer_.learning_rate / _cosine(epoch, n_epochs)
                if any(stop):
                    break
        except NonFiniteLossError as error:
            if error.usable:
                raise
            raise self._go_back(error, before, data, rows) from None
        except KeyboardInterrupt:
            for cb in callbacks:
                cb.on_train_end(self)
            raise
        else:
            for cb in callbacks:
                cb.on_train_end(self)
        finally:  # also after a NonFiniteLossError: the kept weights get their fitted state
            if display is not None:
                display.close()
            self._after_fit(*self._unpack(data))
        if display is not None:  # a fit that shows its progress also says what looks wrong
            note = self._training_note(watch[1])
            if note:
                print(note, file=sys.stderr, flush=True)
        self.best_epoch_ = (None if stopper is None or stopper.best_epoch is None
                            else watch[0] + stopper.best_epoch)
        self._warn_if_diverged(watch)
        if val is not None:
            self._warn_if_overfitted(val, data, rows)
        return self

    def _early_stopper(self, shape, given, callbacks, continuing):
        """The ``EarlyStopping`` that ``early_stopping`` asks for on data of ``shape`` (N,
        D_in), or None; ``given``: how many held-out rows the caller gave (0: none). None
        too when the caller's callbacks stop early themselves, and for a warm start without
        held-out rows of the caller's: rows drawn now would have been trained on before."""
        mode = self.early_stopping if isinstance(self.early_stopping, str) else bool(
            self.early_stopping)
        if (not mode or any(isinstance(cb, EarlyStopping) for cb in callbacks)
                or (continuing and not given)):
            return None
        n_val = int(round(float(self.validation_fraction) * shape[0]))
        if mode == "auto":
            if not (auto_early_stopping(shape[1], given or n_val)
                    and (given or n_val < shape[0])):
                return None
        elif not given and not 1 <= n_val < shape[0]:
            raise ValueError(f"early_stopping=True with validation_fraction="
                             f"{self.validation_fraction} holds out {n_val} of {shape[0]} "
                             f"samples: too few to train on or to score")
        return EarlyStopping(patience=10, patience_steps=PATIENCE_STEPS,
                             restore_best_weights=True)

    def partial_fit(self, X, y):
        """One epoch over (X, y), initialising the model on the first call; returns self.

        Training continues from the current weights, optimizer state and learning rate; the
        minibatches (and the noise) are drawn afresh for each call (several calls need not
        equal one longer ``fit``). The first call learns the standardisation from its data.
        """
        if hasattr(self, "network_"):
            X, y = self._check_data(X, y)
            data = training.pack(X, y, self._xp, self.network_.flat_params.dtype,
                                 self.standardizer_)
        else:
            xp, dtype = self._check_params()
            X, y, scaler, layout = self._first_data(X, y, xp)
            data = training.pack(X, y, xp, dtype, scaler)
            self._initialise(X.shape[1], y.shape[1], xp, dtype, scaler, layout)
            self._initialise_output(data)
        rows = np.arange(data.shape[0])
        watch = self._watch(data, rows)
        self.best_epoch_ = None  # an epoch of partial_fit is kept whatever it scores
        try:
            self._train_epoch(data, rows, None, self._regularise(data.shape[0]))
        finally:
            self._after_fit(*self._unpack(data))
        self._warn_if_diverged(watch)
        return self

    def _first_data(self, X, y, xp):
        """The data of a first fit, checked: (X, y, the standardisation learned from them,
        their layout for ``_initialise``)."""
        layout = _data_layout(X, y)
        X, y = check_pair(X, y, xp=xp, dtype=None, owner=type(self).__name__)
        scaler = (Standardizer.fit(X, y) if self.standardize
                  else Standardizer.identity(X.shape[1], y.shape[1]))
        return X, y, scaler, layout

    def _regularise(self, n_samples):
        """Set the optimizer's weight decay for N training samples; return the noise
        standard deviations per packed column (D_in + D,) on the device, or None."""
        decay = self.weight_decay
        self.optimizer_.weight_decay = (auto_weight_decay(n_samples) if decay == "auto"
                                        else float(decay))
        levels = [auto_noise(n_samples, d) if v == "auto" else float(v)
                  for v, d in ((self.input_noise, self.n_features_in_), (self.target_noise, 1))]
        self.noise_ = tuple(levels)
        if not any(levels):
            return None
        stds = np.repeat(levels, [self.n_features_in_, self.n_targets_])
        return self._xp.asarray(stds, dtype=self.network_.flat_params.dtype)

    def _initialise_output(self, data):
        """Hook: set the output layer from the standardised training data (see MDN)."""

    def _unpack(self, data):
        """Views (X, y) of a packed array."""
        return data[:, :self.n_features_in_], data[:, self.n_features_in_:]

    def _train_epoch(self, data, rows, val, noise=None):
        """One epoch of ``training.run_epoch``, then the curves and the validation loss.

        An interrupt anywhere before the curves are written puts the epoch's start back, so
        the weights never hold an epoch that ``n_epochs_`` and the curves do not count."""
        saved = training.snapshot(self.network_, self.optimizer_)
        try:
            train_loss = training.run_epoch(self.network_, self.loss_, self.optimizer_, data,
                                            rows, self.n_features_in_, self.batch_size,
                                            self._rng, self.n_epochs_, noise, saved)
            offset = self._loss_offset
            logs = {"loss": train_loss + offset}
            if val is not None:
                logs["val_loss"] = training.mean_loss(self.network_, self.loss_,
                                                      *self._unpack(val)) + offset
        except KeyboardInterrupt:
            training.restore(self.network_, self.optimizer_, saved)
            raise
        self.n_epochs_ += 1
        self.loss_curve_.append(logs["loss"])
        self.learning_rate_curve_.append(self.optimizer_.learning_rate)
        if val is not None:
            self.validation_loss_curve_.append(logs["val_loss"])
        return logs

    def _training_state(self):
        """The weights, optimizer state, epoch count and curve lengths, for ``_go_back``."""
        return (training.snapshot(self.network_, self.optimizer_), self.n_epochs_,
                len(self.loss_curve_), len(self.validation_loss_curve_),
                len(self.learning_rate_curve_))

    def _go_back(self, error, state, data, rows):
        """After a NonFiniteLossError whose kept weights give a non-finite loss on the
        training data: the state before this fit, and the error that says so."""
        saved, self.n_epochs_, n_loss, n_val, n_rate = state
        training.restore(self.network_, self.optimizer_, saved)
        del self.loss_curve_[n_loss:], self.validation_loss_curve_[n_val:]
        del self.learning_rate_curve_[n_rate:]
        order = self._xp.asarray(rows)
        usable = training.finite_loss(self.network_, self.loss_, data, order,
                                      self.n_features_in_)
        message = (f"the training loss became {error.loss} in epoch {error.epoch}, and the "
                   f"weights after the epoch before give a non-finite loss on some training "
                   f"samples too (a scale that underflowed to 0, or an overflow), so the model "
                   f"keeps the weights it had before this fit ({self.n_epochs_} epochs). ")
        message += ("Try a smaller learning_rate, a larger min_scale, or clip_norm" if usable
                    else "Those give a non-finite loss too: the model is not usable; refit "
                    "with a smaller learning_rate, a larger min_scale, or clip_norm")
        return NonFiniteLossError(message, usable=usable, epoch=error.epoch, loss=error.loss)

    def _watch(self, data, rows):
        """(first epoch, up to WATCH_ROWS training rows, their loss now): the start that
        ``_warn_if_diverged`` compares the end of training with."""
        sample = self._xp.take(data, self._xp.asarray(rows[:WATCH_ROWS]), axis=0)
        return self.n_epochs_, sample, self._sample_loss(sample)

    def _sample_loss(self, sample):
        """The loss on packed rows, in the curves' units; inf where it is not finite."""
        with np.errstate(all="ignore"):
            loss = training.mean_loss(self.network_, self.loss_, *self._unpack(sample))
        return loss + self._loss_offset if math.isfinite(loss) else math.inf

    def _warn_if_diverged(self, watch):
        """A ``DivergenceWarning`` if the model that training ended with is likely useless:
        a loss on the training rows far above both its value before this fit and that of the
        best constant prediction of the training targets (``_constant_loss``), or a
        degenerate output (``_degenerate``)."""
        first_epoch, sample, initial = watch
        curve = self.loss_curve_[first_epoch:]
        if not curve:
            return
        problems = []
        final = self._sample_loss(sample)
        reference, what = self._constant_loss(self._unpack(sample)[1])
        # a constant target column has no constant Gaussian to compare with (NaN)
        threshold = self._diverged_above(initial if math.isnan(reference)
                                         else max(reference, initial))
        if math.isfinite(threshold) and not final <= threshold:  # NaN fails too
            above = len(curve)
            while above > 0 and not curve[above - 1] <= threshold:
                above -= 1
            best = int(np.argmin(curve))
            if above == len(curve):  # the last step, or a callback, made it worse
                since = f"no epoch's mean loss was above {threshold:.4g}"
            else:
                since = (f"the epochs' mean loss has been above {threshold:.4g} "
                         + (f"since epoch {first_epoch + above}" if above else
                            "in every epoch of this fit"))
            problems.append(
                f"the training loss ended at {final:.4g} after epoch {self.n_epochs_ - 1}, "
                f"far above both the {initial:.4g} it started from and the {reference:.4g} "
                f"of {what} ({since}; lowest {curve[best]:.4g} in epoch {first_epoch + best})")
        problems += self._degenerate(sample)
        if problems:
            warnings.warn(DivergenceWarning(
                f"{type(self).__name__} training diverged: " + "; ".join(problems) +
                f". Try a smaller learning_rate (this fit used {self.learning_rate}), "
                "clip_norm=1.0, or EarlyStopping(restore_best_weights=True)"), stacklevel=3)

    def _warn_if_overfitted(self, val, data, rows):
        """An ``OverfittingWarning`` if the fitted model scores worse on the held-out rows
        ``val`` (packed) than the best constant prediction of the training targets, by more
        than two standard errors of the difference (a few held-out rows scored a little
        worse are no evidence)."""
        val = val[:EVAL_BATCH]  # enough rows for the test, few enough to score at once
        train = self._xp.take(data, self._xp.asarray(rows[:EVAL_BATCH]), axis=0)
        targets = self._unpack(val)[1]
        with np.errstate(all="ignore"):
            model = self._sample_losses(val)
            constant = self._constant_losses(targets, self._unpack(train)[1])
        diff = model - constant
        n = diff.shape[0]
        if n < 2 or not np.isfinite(constant).all():
            return
        worse, error = float(diff.mean()), float(diff.std(ddof=1)) / math.sqrt(n)
        if worse > 2 * error or not np.isfinite(worse):
            warnings.warn(OverfittingWarning(
                f"{type(self).__name__} scores {model.mean():.4g} on the {n} held-out "
                f"samples, worse than the {constant.mean():.4g} of {self._CONSTANT} (by "
                f"{worse:.3g} ± {error:.2g}): it has learned nothing that carries over to new "
                "data. Try stronger regularisation (a larger input_noise, early_stopping=True, "
                "a larger weight_decay), a smaller network (hidden_sizes)"
                + (", fewer n_components" if hasattr(self, "n_components") else "")
                + ", or more data"), stacklevel=3)

    _CONSTANT = ""  # the best constant prediction: what _constant_losses computes

    def _sample_losses(self, sample):
        """The loss of each packed row, in the curves' units, as a host float64 array."""
        raise NotImplementedError

    def _constant_losses(self, targets, fitted_to):
        """The loss of each row of (standardised) ``targets``, in the curves' units, of the
        best constant prediction of the targets ``fitted_to``, as a host float64 array."""
        raise NotImplementedError

    def _constant_loss(self, targets):
        """(mean loss of the best constant prediction of ``targets`` on themselves, in the
        curves' units, its description); NaN where there is none to compare with."""
        with np.errstate(all="ignore"):
            return float(np.mean(self._constant_losses(targets, targets))), self._CONSTANT

    def _diverged_above(self, start):
        """The loss above which a fit has diverged, given the larger of its loss at the start
        and the constant prediction's."""
        return math.inf

    def _degenerate(self, sample):
        """Descriptions of what is wrong with the fitted outputs on packed rows ``sample``."""
        return []

    def _training_note(self, sample):
        """A line for the progress display on what looks odd in the fitted model, or None."""
        return None

    @property
    def _loss_offset(self):
        """Added to the training loss to put it in the user's units (0: left as it is)."""
        return 0.0

    def _after_fit(self, X, y):
        """Hook for learned state computed from the training data after fitting."""

    # --- persistence (the file format is in io.py) -----------------------------------------

    def save(self, path):
        """Write the fitted model to ``path`` (one .npz file, written atomically)."""
        return io.save(self, path)

    def _get_state(self):
        """Learned state: JSON-able values, and arrays under the key "arrays"."""
        opt = self.optimizer_
        arrays = {"params": self.network_.flat_params}
        arrays.update({f"standardizer.{k}": v for k, v in self.standardizer_.state().items()})
        for name, values in (opt.state or {}).items():
            arrays.update({f"optimizer.{name}.{i}": a for i, a in enumerate(values)})
        return {
            "arrays": arrays,
            "dtype": self.network_.flat_params.dtype.name,
            "n_features_in": self.n_features_in_,
            "n_targets": self.n_targets_,
            "target_ndim": self._target_ndim,
            "feature_names_in": (None if not hasattr(self, "feature_names_in_")
                                 else [str(n) for n in self.feature_names_in_]),
            "n_epochs": self.n_epochs_,
            "loss_curve": self.loss_curve_,
            "validation_loss_curve": self.validation_loss_curve_,
            "learning_rate_curve": self.learning_rate_curve_,
            "optimizer": {"learning_rate": opt.learning_rate, "iterations": opt.iterations,
                          "state_names": sorted(opt.state or {})},
            "rng": self._rng.bit_generator.state,
        }

    def _expected_arrays(self, state):
        """Check the saved JSON state (``io.Fields``) of a model with these hyperparameters;
        return the arrays its file must hold, {name: (shape, dtype name)}. Called by
        ``io.load`` before any array is read, so sizes come from here, never from the file."""
        dtype = state.choice("dtype", ("float32", "float64"))
        F, D = state.integer("n_features_in", 1), state.integer("n_targets", 1)
        if state.integer("target_ndim", 1, 2) == 1 and D > 1:
            raise io.ModelFileError(f"has an invalid state.target_ndim: 1 for {D} targets")
        state.strings("feature_names_in", length=F, optional=True)
        n_epochs = state.integer("n_epochs")
        state.numbers("loss_curve", length=n_epochs)
        state.numbers("learning_rate_curve", length=n_epochs)
        state.numbers("validation_loss_curve", max_length=n_epochs, finite=False)
        state.generator_state("rng")
        opt = state.fields("optimizer")
        opt.number("learning_rate", positive=True)
        names = sorted(make_optimizer(self.optimizer, learning_rate=1.0).state_names)
        if opt.strings("state_names") != (names if opt.integer("iterations") else []):
            raise io.ModelFileError(f"has an invalid state.optimizer.state_names: expected "
                                    f"{names} for {self.optimizer!r} after training")
        n_params = self._n_members * n_parameters([F, *self._hidden,
                                                   self._make_loss(D).n_outputs])
        arrays = {"params": ((n_params,), dtype)}
        for name, size in (("x_mean", F), ("x_scale", F), ("y_mean", D), ("y_scale", D)):
            arrays[f"standardizer.{name}"] = ((size,), "float64")
        arrays.update({f"optimizer.{name}.0": ((n_params,), dtype) for name in names})
        return arrays

    def _set_state(self, state, arrays):
        """Rebuild the fitted model from ``_get_state``'s output, as read by ``io.load`` and
        checked by ``_expected_arrays``: the array values are checked here."""
        xp, _ = self._check_params()
        io.check_values(arrays, "params")
        for name in ("x_mean", "y_mean", "x_scale", "y_scale"):
            io.check_values(arrays, f"standardizer.{name}",
                            minimum=0 if name.endswith("scale") else None, strict=True)
        opt, saved = make_optimizer(self.optimizer, learning_rate=1.0), state["optimizer"]
        for name in saved["state_names"]:
            io.check_values(arrays, f"optimizer.{name}.0",
                            minimum=0 if name in opt.nonnegative_state else None)
        scaler = Standardizer(*(arrays[f"standardizer.{k}"]
                                for k in ("x_mean", "x_scale", "y_mean", "y_scale")))
        names = state["feature_names_in"]
        layout = (state["target_ndim"], None if names is None else np.asarray(names, dtype=object))
        self._initialise(state["n_features_in"], state["n_targets"], xp,
                         resolve_dtype(state["dtype"]), scaler, layout)
        self.set_weights(arrays["params"])
        opt = self.optimizer_
        opt.learning_rate, opt.iterations = float(saved["learning_rate"]), saved["iterations"]
        if saved["state_names"]:
            opt.state = {name: [xp.asarray(arrays[f"optimizer.{name}.0"])]
                         for name in saved["state_names"]}
        self.n_epochs_ = state["n_epochs"]
        self.loss_curve_ = [float(v) for v in state["loss_curve"]]
        self.validation_loss_curve_ = [float(v) for v in state["validation_loss_curve"]]
        self.learning_rate_curve_ = [float(v) for v in state["learning_rate_curve"]]
        self._rng.bit_generator.state = state["rng"]

    # --- weights and inputs -------------------------------------------------------------------

    def get_weights(self):
        """A copy of all network parameters as one flat array, on the model's device."""
        self._check_fitted()
        return self.network_.flat_params.copy()

    def set_weights(self, weights):
        """Overwrite all network parameters from a flat array (as ``get_weights`` returns)."""
        self._check_fitted()
        flat = self.network_.flat_params
        weights = self._xp.asarray(weights, dtype=flat.dtype)
        if weights.shape != flat.shape:
            raise ValueError(f"weights must have shape {flat.shape}, got {weights.shape}")
        flat[...] = weights

    def _check_data(self, X, y):
        """X and y checked for a fitted model, on its device, in their own dtype."""
        self._check_fitted()
        check_feature_names(self, X)
        return check_pair(X, y, xp=self._xp, dtype=None, n_features=self.n_features_in_,
                          n_targets=self.n_targets_, owner=type(self).__name__)

    def _inputs(self, X):
        """Check X for a fitted model; return it standardised, on the model's device and in
        its dtype."""
        self._check_fitted()
        check_feature_names(self, X)
        X = check_array(X, "X", xp=self._xp, dtype=None, n_features=self.n_features_in_,
                        owner=type(self).__name__)
        return self.standardizer_.inputs(X, self.network_.flat_params.dtype)

    def _pair(self, X, y):
        """Check X and y for a fitted model; return both standardised (see ``_inputs``)."""
        X, y = self._check_data(X, y)
        dtype = self.network_.flat_params.dtype
        return self.standardizer_.inputs(X, dtype), self.standardizer_.targets(y, dtype)

    def _targets_and_mixture(self, X, y):
        X, y = self._check_data(X, y)
        m = self._mixture(self.standardizer_.inputs(X, self.network_.flat_params.dtype))
        return self._xp.asarray(y, dtype=m.means.dtype), m

    def _log_prob(self, X, y):
        """log p(y | x) in the user's units for standardised X and y: the log-density of the
        standardised mixture less the log-Jacobian Σ_d log s_d."""
        log_p = mixture.log_prob(y, *self._standardized_mixture(X))
        log_p -= self.standardizer_.log_jacobian
        return log_p

    def _mixture(self, X):
        """p(y | x) in the user's units for standardised X (``mixture.Mixture``)."""
        return mixture.Mixture(*self.standardizer_.unscale_mixture(
            *self._standardized_mixture(X)))

    def _standardized_mixture(self, X):
        raise NotImplementedError

    def _raw_outputs(self, X):
        """Network outputs for checked X, in chunks of EVAL_BATCH rows; the layers keep none
        of X (a pickle of the model after a prediction carries no data)."""
        net = self.network_
        if X.shape[0] <= EVAL_BATCH:
            return net.predict(X)
        parts = [net.predict(X[s:s + EVAL_BATCH]) for s in range(0, X.shape[0], EVAL_BATCH)]
        if isinstance(net, Parallel):  # a list of outputs per chunk: joined member by member
            return [self._xp.concatenate(member, axis=0) for member in zip(*parts)]
        return self._xp.concatenate(parts, axis=0)


document_parameters(NetworkEstimator)


def _data_layout(X, y):
    """(1 for a 1-D y else 2, the column names of a DataFrame X or None), before checks."""
    ndim = y.ndim if hasattr(y, "ndim") else np.asarray(y).ndim  # no host copy of device y
    return (1 if ndim == 1 else 2), feature_names(X)


def _cosine(epoch, n_epochs):
    """Learning-rate factor of ``epoch`` in a cosine schedule from 1 down to 0.01."""
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * epoch / n_epochs))


def _check_callbacks(callbacks, validation):
    """The callbacks as a list, each with the three hooks; refused before anything changes.
    One callback on its own is a list of one. ``validation``: whether the fit scores held-out
    rows (None: not known yet, checked by a second call)."""
    if callbacks is None:
        callbacks = []
    elif hasattr(callbacks, "on_epoch_end") or not hasattr(callbacks, "__iter__"):
        callbacks = [callbacks]
    else:
        callbacks = list(callbacks)
    for cb in callbacks:
        if not all(callable(getattr(cb, hook, None))
                   for hook in ("on_train_begin", "on_epoch_end", "on_train_end")):
            raise TypeError(f"callbacks must be mdnlite.Callback objects, got {cb!r}")
        if getattr(cb, "monitor", None) == "val_loss" and validation is False:
            raise ValueError(f"{type(cb).__name__} monitors 'val_loss', which this fit does not "
                             "compute (give validation_data or validation_split)")
    return callbacks
