"""The fit loop shared by ``MDN`` and ``Regressor``, in scikit-learn's conventions.

``__init__`` only stores hyperparameters; ``fit`` checks them and the data, builds the network
and trains it in minibatches; learned state ends in ``_``. Subclasses say which loss sits on
top of the network (``_make_loss``) and what to predict from its raw outputs.
"""

import time

import numpy as np

from . import io, training
from .backend import array_module, get_xp, resolve_dtype
from .layers import make_activation
from .network import mlp
from .optim import make_optimizer
from .params import Params
from .training import EVAL_BATCH, NonFiniteLossError
from .validation import (
    check_array,
    check_fraction,
    check_pair,
    check_positive_int,
    check_random_state,
)

__all__ = ["NetworkEstimator", "NonFiniteLossError", "NotFittedError"]



class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class NetworkEstimator(Params):
    """Hyperparameters and training loop common to the network estimators.

    Parameters
    ----------
    hidden_sizes : sequence of int
        Widths of the hidden layers.
    activation : str
        Hidden activation: "tanh", "relu", "sigmoid", "softplus", "elu" or "identity".
    optimizer : {"adam", "rmsprop", "sgd"}
    learning_rate : float > 0
    weight_decay : float >= 0
        L2 penalty on all parameters (see ``optim.Optimizer``).
    clip_norm : float > 0 or None
        Global gradient-norm clipping.
    max_epochs : int >= 1
        Passes over the training data per ``fit`` (fewer if a callback stops it).
    batch_size : int >= 1
        Minibatch size; the data are reshuffled every epoch.
    backend : {"numpy", "cupy", "auto"}
    dtype : {"float32", "float64"}
    random_state : None or int
        Seeds the initial weights, the shuffling and the validation split.
    warm_start : bool
        If True, ``fit`` on a fitted model continues from its weights and optimizer state.
    verbose : int
        0 silent, 1 a progress line about 20 times per fit, 2 a line per epoch.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        io.register(cls)  # so that io.load can rebuild it

    def __init__(self, hidden_sizes=(32, 32), activation="tanh", optimizer="adam",
                 learning_rate=1e-3, weight_decay=0.0, clip_norm=None, max_epochs=200,
                 batch_size=256, backend="numpy", dtype="float32", random_state=None,
                 warm_start=False, verbose=0):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.max_epochs = max_epochs
        self.batch_size = batch_size
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
                       weight_decay=self.weight_decay, clip_norm=self.clip_norm)
        check_positive_int(self.max_epochs, "max_epochs")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.verbose, "verbose", minimum=0)
        check_random_state(self.random_state)
        self._hidden = tuple(int(w) for w in sizes)
        return get_xp(self.backend), resolve_dtype(self.dtype)

    # the parameters that shape the fitted network: a saved file records them as fitted, even
    # if set_params changed them since (the change takes effect at the next fit)
    _ARCHITECTURE = ("hidden_sizes", "activation", "dtype")

    def _saved_params(self):
        params = self.get_params()
        params.update(self._architecture)
        return params

    def _initialise(self, n_features, n_targets, xp, dtype):
        self._architecture = {k: getattr(self, k) for k in self._ARCHITECTURE}
        self._rng = check_random_state(self.random_state)
        self.n_features_in_, self.n_targets_ = n_features, n_targets
        self.loss_ = self._make_loss(n_targets)
        self.network_ = mlp([n_features, *self._hidden, self.loss_.n_outputs], self.activation,
                            rng=self._rng, backend=xp, dtype=dtype)
        self.optimizer_ = make_optimizer(self.optimizer, learning_rate=self.learning_rate,
                                         weight_decay=self.weight_decay,
                                         clip_norm=self.clip_norm)
        self.loss_curve_, self.validation_loss_curve_, self.learning_rate_curve_ = [], [], []
        self.n_epochs_ = 0

    def _make_loss(self, n_targets):
        raise NotImplementedError

    @property
    def _xp(self):
        return array_module(self.network_.flat_params)

    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit first")

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
        callbacks : sequence of ``callbacks.Callback``
        verbose : int, optional
            Overrides the constructor's ``verbose`` for this call.

        Raises
        ------
        NonFiniteLossError
            The training loss became NaN or infinite; the model keeps the weights (and
            optimizer state) of the last epoch that ended finite.
        """
        xp, dtype = self._check_params()
        split = check_fraction(validation_split, "validation_split")
        if validation_data is not None and split:
            raise ValueError("give validation_data or validation_split, not both")
        # every check comes before anything changes: a refused fit leaves a fitted model as it was
        continuing = self.warm_start and hasattr(self, "network_")
        if continuing:
            X, y = self._pair(X, y, convert=False)
            xp, dtype = self._xp, self.network_.flat_params.dtype
        else:
            X, y = check_pair(X, y, xp=xp, dtype=None)
        data = training.pack(X, y, xp, dtype)
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, y_val = check_pair(*validation_data, xp=xp, dtype=None,
                                      n_features=X.shape[1], n_targets=y.shape[1],
                                      names=("X_val", "y_val"))
            val = training.pack(X_val, y_val, xp, dtype, names=("X_val", "y_val"))
        n_val = int(round(split * X.shape[0]))
        if split and not 1 <= n_val < X.shape[0]:
            raise ValueError(f"validation_split={split} leaves no training or no validation "
                             f"samples out of {X.shape[0]}")
        callbacks = _check_callbacks(callbacks, validation=validation_data is not None or split)
        verbose = check_positive_int(self.verbose if verbose is None else verbose, "verbose",
                                     minimum=0)
        if not continuing:
            self._initialise(X.shape[1], y.shape[1], xp, dtype)
        del X, y  # only the packed copy is used from here on
        rows = np.arange(data.shape[0], dtype=np.int32 if data.shape[0] < 2**31 else np.int64)
        if split:
            self._rng.shuffle(rows)
            val, rows = data[xp.asarray(rows[:n_val])], rows[n_val:]
        elif validation_data is None:
            val = None
        for cb in callbacks:
            cb.on_train_begin(self)
        start = time.perf_counter()
        try:
            for epoch in range(self.max_epochs):
                logs = self._train_epoch(data, rows, val)
                training.report(verbose, epoch, self.max_epochs, logs, start)
                stop = [cb.on_epoch_end(self, epoch, logs) for cb in callbacks]
                if any(stop):
                    break
            for cb in callbacks:
                cb.on_train_end(self)
        finally:  # also after a NonFiniteLossError: the kept weights get their fitted state
            self._after_fit(*self._unpack(data))
        return self

    def partial_fit(self, X, y):
        """One epoch over (X, y), initialising the model on the first call; returns self.

        Training continues from the current weights and optimizer state; the minibatches are
        drawn afresh for each call (several calls need not equal one longer ``fit``).
        """
        if hasattr(self, "network_"):
            X, y = self._pair(X, y, convert=False)
            data = training.pack(X, y, self._xp, self.network_.flat_params.dtype)
        else:
            xp, dtype = self._check_params()
            X, y = check_pair(X, y, xp=xp, dtype=None)
            data = training.pack(X, y, xp, dtype)
            self._initialise(X.shape[1], y.shape[1], xp, dtype)
        self._train_epoch(data, np.arange(data.shape[0]), None)
        self._after_fit(*self._unpack(data))
        return self

    def _unpack(self, data):
        """Views (X, y) of a packed array."""
        return data[:, :self.n_features_in_], data[:, self.n_features_in_:]

    def _train_epoch(self, data, rows, val):
        """One epoch of ``training.run_epoch``, then the curves and the validation loss."""
        train_loss = training.run_epoch(self.network_, self.loss_, self.optimizer_, data, rows,
                                        self.n_features_in_, self.batch_size, self._rng,
                                        self.n_epochs_)
        self.n_epochs_ += 1
        self.loss_curve_.append(train_loss)
        self.learning_rate_curve_.append(self.optimizer_.learning_rate)
        logs = {"loss": train_loss}
        if val is not None:
            logs["val_loss"] = training.mean_loss(self.network_, self.loss_, *self._unpack(val))
            self.validation_loss_curve_.append(logs["val_loss"])
        return logs

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
        for name, values in (opt.state or {}).items():
            arrays.update({f"optimizer.{name}.{i}": a for i, a in enumerate(values)})
        return {
            "arrays": arrays,
            "dtype": self.network_.flat_params.dtype.name,
            "n_features_in": self.n_features_in_,
            "n_targets": self.n_targets_,
            "n_epochs": self.n_epochs_,
            "loss_curve": self.loss_curve_,
            "validation_loss_curve": self.validation_loss_curve_,
            "learning_rate_curve": self.learning_rate_curve_,
            "optimizer": {"learning_rate": opt.learning_rate, "iterations": opt.iterations,
                          "state_names": sorted(opt.state or {})},
            "rng": self._rng.bit_generator.state,
        }

    def _set_state(self, state, arrays):
        """Rebuild the fitted model from ``_get_state``'s output (as read by io.load)."""
        xp, _ = self._check_params()
        self._initialise(state["n_features_in"], state["n_targets"], xp,
                         resolve_dtype(state["dtype"]))
        self.set_weights(arrays["params"])
        opt, saved = self.optimizer_, state["optimizer"]
        opt.learning_rate, opt.iterations = saved["learning_rate"], saved["iterations"]
        if saved["state_names"]:
            opt.state = {}
            for name in saved["state_names"]:
                keys = sorted((k for k in arrays if k.startswith(f"optimizer.{name}.")),
                              key=lambda k: int(k.rsplit(".", 1)[1]))
                opt.state[name] = [xp.asarray(arrays[k]) for k in keys]
        self.n_epochs_ = state["n_epochs"]
        self.loss_curve_ = list(state["loss_curve"])
        self.validation_loss_curve_ = list(state["validation_loss_curve"])
        self.learning_rate_curve_ = list(state["learning_rate_curve"])
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

    def _inputs(self, X):
        """Check X for a fitted model and move it to the model's device."""
        self._check_fitted()
        return check_array(X, "X", xp=self._xp, dtype=self.network_.flat_params.dtype,
                           n_features=self.n_features_in_)

    def _pair(self, X, y, convert=True):
        """Check X and y for a fitted model and move them to the model's device (in its dtype,
        unless ``convert`` is False)."""
        self._check_fitted()
        dtype = self.network_.flat_params.dtype if convert else None
        return check_pair(X, y, xp=self._xp, dtype=dtype, n_features=self.n_features_in_,
                          n_targets=self.n_targets_)

    def _raw_outputs(self, X):
        """Network outputs for checked X, in chunks of EVAL_BATCH rows."""
        net = self.network_
        if X.shape[0] <= EVAL_BATCH:
            return net.forward(X)
        parts = [net.forward(X[s:s + EVAL_BATCH]) for s in range(0, X.shape[0], EVAL_BATCH)]
        return self._xp.concatenate(parts, axis=0)


def _check_callbacks(callbacks, validation):
    """The callbacks as a list, each with the three hooks; refused before anything changes."""
    callbacks = [] if callbacks is None else list(callbacks)
    for cb in callbacks:
        if not all(callable(getattr(cb, hook, None))
                   for hook in ("on_train_begin", "on_epoch_end", "on_train_end")):
            raise TypeError(f"callbacks must be mdnlite.Callback objects, got {cb!r}")
        if getattr(cb, "monitor", None) == "val_loss" and not validation:
            raise ValueError(f"{type(cb).__name__} monitors 'val_loss', which this fit does not "
                             "compute (give validation_data or validation_split)")
    return callbacks
