"""The fit loop shared by ``MDN`` and ``Regressor``, in scikit-learn's conventions.

``__init__`` only stores hyperparameters; ``fit`` checks them and the data, builds the network
and trains it in minibatches; learned state ends in ``_``. Subclasses say which head sits on
top of the network (``_make_head``) and what to predict from its raw outputs. The rest of a
network estimator comes from mixins, one job each: ``inputs`` (checked inputs to mixtures),
``persistence`` (its state in files and pickles), ``diagnostics`` (warnings at the end of a
fit) and ``parameters`` (``get_params``, ``set_params``, ``repr``).
"""

import contextlib
import functools
import sys

import numpy as np

from .. import io
from ..backend import array_module, get_xp, resolve_dtype
from ..config import blas_limit
from ..exceptions import (DivergenceWarning, NonFiniteLossError, NotFittedError,  # noqa: F401
                          OverfittingWarning, not_fitted)
from ..nn.layers import make_activation
from ..nn.network import Parallel, mlp
from ..nn.optim import OPTIMIZERS, make_optimizer
from ..validation import (Boolean, Integer, Options, Real, Rule, check_fraction, check_pair,
                          check_hidden_sizes, check_params, check_positive_int,
                          check_random_state)
from . import collective, training
from .callbacks import check_callbacks
from .defaults import (AUTO_STEPS, PATIENCE_STEPS, auto_early_stopping,  # noqa: F401
                       auto_epochs, auto_noise, auto_weight_decay, early_stopper,
                       regularise)
from .diagnostics import Diagnostics
from .inputs import Inputs, data_layout
from .parameters import NETWORK_PARAMETERS, Params, document_parameters  # noqa: F401
from .persistence import Persistence
from .progress import check_verbose, progress
from .collective import Collective
from .scaling import Standardizer, warn_if_rescaled
from .streaming import fit_streamed, is_out_of_core, partial_fit_streamed

__all__ = ["NetworkEstimator"]


class NetworkEstimator(Inputs, Persistence, Diagnostics, Params):
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

    # every constructor argument, checked by ``validation.check_params`` in this order at the
    # start of fit (a subclass puts its own first); the messages are the rules' own
    _parameter_constraints = {
        "hidden_sizes": Rule(lambda v, name: check_hidden_sizes(v)),
        "activation": Rule(lambda v, name: make_activation(v) and v),
        "optimizer": Options(*sorted(OPTIMIZERS)),
        "learning_rate": Real(0, strict=True),
        "weight_decay": Real(0, auto=True, auto_message=False),
        "clip_norm": Real(0, strict=True, none=True),
        "max_epochs": Integer(1, auto=True),
        "batch_size": Integer(1),
        "learning_rate_schedule": Options("cosine", "constant"),
        "standardize": Boolean(),
        "input_noise": Real(0, auto=True),
        "target_noise": Real(0, auto=True),
        "early_stopping": Boolean(auto=True),
        "validation_fraction": Real(0, below=1),
        "warm_start": Boolean(),
        "verbose": Rule(lambda v, name: check_verbose(v)),
        "random_state": Rule(lambda v, name: check_random_state(v) and v),
        "backend": Rule(lambda v, name: get_xp(v) and v),
        "dtype": Rule(lambda v, name: resolve_dtype(v) and v),
    }

    def _check_params(self):
        """Check every hyperparameter (``_parameter_constraints``); return (xp, dtype)."""
        checked = check_params(self)
        self._hidden = checked["hidden_sizes"]
        return get_xp(self.backend), resolve_dtype(self.dtype)

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
        self.head_ = self._make_head(n_targets)
        sizes = [n_features, *self._hidden, self.head_.n_outputs]
        members = [mlp(sizes, self.activation, rng=self._rng, backend=xp, dtype=dtype)
                   for _ in range(self._n_members)]
        self.network_ = members[0] if len(members) == 1 else Parallel(members)
        self.optimizer_ = make_optimizer(self.optimizer, learning_rate=self.learning_rate,
                                         clip_norm=self.clip_norm)
        self.loss_curve_, self.validation_loss_curve_, self.learning_rate_curve_ = [], [], []
        self.n_epochs_ = 0
        self.best_epoch_ = None

    def _make_head(self, n_targets):
        raise NotImplementedError

    _n_members = 1  # networks trained side by side (an ensemble: ``MDN(n_members=M)``)
    _min_samples = 1  # rows a first fit needs
    _collective = None  # the ranks of a data-parallel fit, while one runs (collective.py)

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
            verbose=None, comm=None):
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
        comm : mpi4py communicator, optional
            Data-parallel training: each rank passes its own rows (and held-out data), and
            every rank ends with the same model (``estimators.collective``).

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
        collective = None if comm is None else Collective(comm)
        split = check_fraction(validation_split, "validation_split")
        if is_out_of_core(X) or is_out_of_core(y):  # read a block of rows at a time
            if split or comm is not None or (self.warm_start and hasattr(self, "network_")):
                raise ValueError("data read a block at a time (memmap, h5py, zarr, Dask) are "
                                 "fitted from scratch in one process; held-out rows come as "
                                 "validation_data (not validation_split, comm, warm_start)")
            return fit_streamed(self, X, y, xp, dtype, validation_data, callbacks)
        if validation_data is not None and split:
            raise ValueError("give validation_data or validation_split, not both")
        # every check comes before anything changes: a refused fit leaves a fitted model as it was
        continuing = self.warm_start and hasattr(self, "network_")
        if continuing:
            X, y = self._check_data(X, y)
            xp, dtype, scaler = self._xp, self.network_.flat_params.dtype, self.standardizer_
        else:
            X, y, scaler, layout = self._first_data(X, y, xp, collective)
        data = training.pack(X, y, xp, dtype, scaler)
        if continuing:
            warn_if_rescaled(data, X.shape[1], "fit with warm_start=True")
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
        callbacks = check_callbacks(callbacks, validation=None)
        n_all = X.shape[0] if collective is None else collective.total(X.shape[0])
        stopper = early_stopper(self, (n_all, X.shape[1]), given, callbacks, continuing)
        check_callbacks(callbacks, validation=bool(given) or stopper is not None)
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
            self._initialise_output(data[xp.asarray(rows)] if split else data, collective)
        if collective is not None and (split or self.random_state is None):
            # ranks drew apart (no seed, or splits of shards of other sizes): from here on
            # every rank draws what rank 0 draws, so that the epochs' permutations agree
            self._rng = np.random.default_rng(collective.seed(self._rng))
        n_train = len(rows) if collective is None else collective.total(len(rows))
        n_epochs = (auto_epochs(n_train, self.batch_size) if self.max_epochs == "auto"
                    else self.max_epochs)
        noise = regularise(self, n_train)
        schedule = self.learning_rate_schedule == "cosine"
        base_rate = self.learning_rate if schedule else None
        for cb in callbacks:
            cb.on_train_begin(self)
        watch = self._watch(data, rows)  # what _warn_if_diverged compares the end with
        before = self._training_state()  # where a NonFiniteLossError may have to go back to
        self.best_epoch_ = None  # until this fit has stopped early
        display = progress(verbose, n_epochs)
        # the BLAS threads for this size of step (config.blas_threads_for) for the whole
        # loop, the caller's setting back after it: never per step
        threads = contextlib.ExitStack()
        threads.enter_context(blas_limit(self._step_work(len(rows)), xp))
        self._collective = collective  # for _train_epoch, during this call only
        try:
            for epoch in range(n_epochs):
                if schedule:
                    factor = training.cosine_factor(epoch, n_epochs)
                    self.optimizer_.learning_rate = base_rate * factor
                logs = self._train_epoch(data, rows, val, noise)
                if display is not None:
                    display.update(epoch, logs, self.learning_rate_curve_[-1])
                stop = [cb.on_epoch_end(self, epoch, logs) for cb in callbacks]
                if schedule:  # a callback's change of the rate scales the rest of the schedule
                    base_rate = self.optimizer_.learning_rate / factor
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
            self.__dict__.pop("_collective", None)
            threads.close()
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


    def partial_fit(self, X, y, comm=None):
        """One epoch over (X, y), initialising the model on the first call; returns self.

        Training continues from the current weights, optimizer state and learning rate; the
        minibatches (and the noise) are drawn afresh for each call (several calls need not
        equal one longer ``fit``). The first call learns the standardisation from its data.
        ``comm`` (an mpi4py communicator): data-parallel, as in ``fit``.
        """
        collective = None if comm is None else Collective(comm)
        if comm is None and (is_out_of_core(X) or is_out_of_core(y)):
            return partial_fit_streamed(self, X, y)
        if hasattr(self, "network_"):
            X, y = self._check_data(X, y)
            data = training.pack(X, y, self._xp, self.network_.flat_params.dtype,
                                 self.standardizer_)
            warn_if_rescaled(data, X.shape[1], "partial_fit")
        else:
            xp, dtype = self._check_params()
            X, y, scaler, layout = self._first_data(X, y, xp, collective)
            data = training.pack(X, y, xp, dtype, scaler)
            self._initialise(X.shape[1], y.shape[1], xp, dtype, scaler, layout)
            self._initialise_output(data, collective)
            if collective is not None and self.random_state is None:
                self._rng = np.random.default_rng(collective.seed(self._rng))
        rows = np.arange(data.shape[0])
        watch = self._watch(data, rows)
        self.best_epoch_ = None  # an epoch of partial_fit is kept whatever it scores
        n_all = len(rows) if collective is None else collective.total(len(rows))
        self._collective = collective
        try:
            with blas_limit(self._step_work(len(rows)), self._xp):
                self._train_epoch(data, rows, None, regularise(self, n_all))
        finally:
            self.__dict__.pop("_collective", None)
            self._after_fit(*self._unpack(data))
        self._warn_if_diverged(watch)
        return self

    def _first_data(self, X, y, xp, collective=None):
        """A first fit's data, checked: (X, y, their standardisation, layout for _initialise)."""
        layout = data_layout(X, y)
        check = functools.partial(check_pair, X, y, xp=xp, dtype=None, owner=type(self).__name__)
        X, y = check() if collective is None else collective.agree(check)  # no rank left waiting
        n = X.shape[0] if collective is None else collective.total(X.shape[0])
        if n < self._min_samples:
            raise ValueError(f"{type(self).__name__} needs at least {self._min_samples} "
                             f"samples to fit, got n_samples={n}")
        if not self.standardize:
            scaler = Standardizer.identity(X.shape[1], y.shape[1])
        else:
            scaler = (Standardizer.fit(X, y) if collective is None
                      else Standardizer.fit_collective(X, y, collective))
        return X, y, scaler, layout

    def _initialise_output(self, data, collective=None):
        """Set the output layer from the standardised training data (``_set_output``, the
        MDN's k-means start): with a ``collective``, on every rank from the same gathered
        sample, then rank 0's weights everywhere."""
        if collective is None:
            return self._set_output(data)
        self._set_output(collective.sample(data, np.arange(data.shape[0])))
        collective.broadcast(self.network_.flat_params)

    def _set_output(self, data):
        """Hook: set the output layer from the standardised training data (see MDN)."""

    def _unpack(self, data):
        """Views (X, y) of a packed array."""
        return data[:, :self.n_features_in_], data[:, self.n_features_in_:]

    def _step_work(self, n_rows):
        """Multiply-adds of the largest product of a training step on ``n_rows`` rows."""
        return min(self.batch_size, n_rows) * self.network_.largest_product

    def _train_epoch(self, data, rows, val, noise=None):
        """One epoch of ``training.run_epoch``, then the curves and the validation loss.

        An interrupt anywhere before the curves are written puts the epoch's start back, so
        the weights never hold an epoch that ``n_epochs_`` and the curves do not count."""
        saved = training.snapshot(self.network_, self.optimizer_)
        try:
            shared = self._collective
            args = (self.network_, self.head_, self.optimizer_, data, rows,
                    self.n_features_in_, self.batch_size, self._rng, self.n_epochs_, noise)
            train_loss = (training.run_epoch(*args, saved) if shared is None
                          else collective.run_epoch(shared, *args))
            offset = self._loss_offset
            logs = {"loss": train_loss + offset}
            if val is not None:
                mean = (training.mean_loss if shared is None
                        else functools.partial(collective.mean_loss, shared))
                logs["val_loss"] = mean(self.network_, self.head_, *self._unpack(val)) + offset
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
        usable = training.finite_loss(self.network_, self.head_, data, order,
                                      self.n_features_in_)
        message = (f"the training loss became {error.loss} in epoch {error.epoch}, and the "
                   f"weights after the epoch before give a non-finite loss on some training "
                   f"samples too (a scale that underflowed to 0, or an overflow), so the model "
                   f"keeps the weights it had before this fit ({self.n_epochs_} epochs). ")
        message += ("Try a smaller learning_rate, a larger min_scale, or clip_norm" if usable
                    else "Those give a non-finite loss too: the model is not usable; refit "
                    "with a smaller learning_rate, a larger min_scale, or clip_norm")
        return NonFiniteLossError(message, usable=usable, epoch=error.epoch, loss=error.loss)

    @property
    def _loss_offset(self):
        """Added to the training loss to put it in the user's units (0: left as it is)."""
        return 0.0

    def _after_fit(self, X, y):
        """Hook for learned state computed from the training data after fitting."""


document_parameters(NetworkEstimator)
