"""What a fit says about itself: divergence and overfitting warnings, and the checks behind them.

A mixin of ``NetworkEstimator``: it compares the model a fit ended with against the loss it
started from and against the best constant prediction (on training rows for
``DivergenceWarning``, on held-out rows for ``OverfittingWarning``). Each estimator supplies
its per-row losses and its constant baseline through the hooks at the end.
"""

import math
import warnings

import numpy as np

from ..exceptions import DivergenceWarning, OverfittingWarning
from . import training
from .training import EVAL_BATCH

__all__ = ["Diagnostics", "WATCH_ROWS"]

# training rows on which the end of a fit is judged (``DivergenceWarning``): enough for the
# mean loss to a few hundredths of its spread, few enough that partial_fit, which judges
# each call, pays two small forward passes
WATCH_ROWS = 4096


class Diagnostics:
    """Mixin: the checks at the end of a fit (see the module docstring)."""

    def _watch(self, data, rows):
        """(first epoch, up to WATCH_ROWS training rows, their loss now): the start that
        ``_warn_if_diverged`` compares the end of training with."""
        sample = self._xp.take(data, self._xp.asarray(rows[:WATCH_ROWS]), axis=0)
        return self.n_epochs_, sample, self._sample_loss(sample)

    def _sample_loss(self, sample):
        """The loss on packed rows, in the curves' units; inf where it is not finite."""
        with np.errstate(all="ignore"):
            loss = training.mean_loss(self.network_, self.head_, *self._unpack(sample))
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
