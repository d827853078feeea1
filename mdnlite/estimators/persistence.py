"""A network estimator's fitted state, for model files (``io``) and pickles.

A mixin of ``NetworkEstimator``: ``_get_state`` says what a fitted model is (JSON values and
arrays), ``_expected_arrays`` checks a file's JSON and says which arrays it must hold (before
any is read), ``_set_state`` rebuilds the model; ``__setstate__`` fills the parameters added
since the first release. The file format itself (atomic writes, digests) is in ``io``.
"""

import warnings

import numpy as np

from .. import io
from ..backend import resolve_dtype, to_host
from ..nn.network import n_parameters
from ..nn.optim import make_optimizer
from .scaling import Standardizer

__all__ = ["Persistence"]


class Persistence:
    """Mixin: the fitted state of a network estimator (see the module docstring)."""

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
        if "loss_" in state:  # the head's name before head_
            state["head_"] = state.pop("loss_")
        self.__dict__.update(state)

    @property
    def loss_(self):
        """The old name of ``head_`` (it holds the head, not a loss)."""
        warnings.warn("loss_ is now head_: it holds the network's head, not a loss",
                      DeprecationWarning, stacklevel=2)
        return self.head_

    # the parameters that shape the fitted network: a saved file records them as fitted, even
    # if set_params changed them since (the change takes effect at the next fit)
    _ARCHITECTURE = ("hidden_sizes", "activation", "dtype", "standardize")

    def _saved_params(self):
        params = self.get_params()
        params.update(self._architecture)
        return params

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
                                                   self._make_head(D).n_outputs])
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
        given = to_host(weights) if hasattr(weights, "dtype") else np.asarray(weights)
        if given.dtype.kind not in "iuf":
            raise TypeError(f"weights must be real numbers, got an array of {given.dtype}")
        if given.shape != flat.shape:
            raise ValueError(f"weights must have shape {flat.shape}, got {given.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            cast = given.astype(flat.dtype)
        if not np.isfinite(cast).all():  # what load refuses, refused here too
            bad = int((~np.isfinite(cast)).sum())
            raise ValueError(f"weights hold {bad} value(s) that are not finite in "
                             f"{flat.dtype.name} (NaN, infinite, or too large): a model "
                             f"with them would predict NaN")
        flat[...] = self._xp.asarray(cast)
