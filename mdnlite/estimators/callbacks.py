"""Training callbacks: early stopping and learning-rate reduction on a plateau.

A callback sees the model once before training (``on_train_begin``) and after every epoch
(``on_epoch_end``), with that epoch's losses; it may change the optimizer's learning rate or
ask training to stop. Both follow the Keras callbacks of the same names.
"""

import math

from ..validation import check_number, check_positive_int

__all__ = ["Callback", "EarlyStopping", "ReduceLROnPlateau"]


class Callback:
    """Base class: override the hooks you need."""

    def on_train_begin(self, model):
        """Called by ``fit`` before the first epoch (not by ``partial_fit``)."""

    def on_epoch_end(self, model, epoch, logs):
        """Called after each epoch with ``logs = {"loss": ..., "val_loss": ...}`` (floats).

        Return True to stop training after this epoch.
        """
        return False

    def on_train_end(self, model):
        """Called by ``fit`` after the last epoch, and when a KeyboardInterrupt stops
        training (after the epoch in progress is undone); not after a NonFiniteLossError."""


class _Monitor(Callback):
    """Tracks the best value of one logged loss (lower is better)."""

    def __init__(self, monitor, patience, min_delta, patience_steps=0):
        if monitor not in ("loss", "val_loss"):
            raise ValueError(f"monitor must be 'loss' or 'val_loss', got {monitor!r}")
        patience = check_positive_int(patience, "patience", minimum=0)
        if not check_number(min_delta, "min_delta") >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.patience_steps = check_positive_int(patience_steps, "patience_steps", minimum=0)

    def on_train_begin(self, model):
        self.best = math.inf
        self.wait = 0
        self._best_step = model.optimizer_.iterations

    def _improved(self, logs, model):
        """Update the best value; True if this epoch improved on it by more than min_delta."""
        if self.monitor not in logs:
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, which this fit "
                             "does not compute (give validation_data or validation_split)")
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            self._best_step = model.optimizer_.iterations
            return True
        self.wait += 1
        return False

    def _out_of_patience(self, model):
        """No improvement for ``patience`` epochs and for ``patience_steps`` optimizer steps."""
        return (self.wait >= self.patience
                and model.optimizer_.iterations - self._best_step >= self.patience_steps)


class EarlyStopping(_Monitor):
    """Stop when the monitored loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : {"val_loss", "loss"}
    patience : int >= 0
        Stop after this many consecutive epochs without improvement (0: at the first).
    min_delta : float >= 0
        Smallest decrease that counts as an improvement.
    patience_steps : int >= 0
        ... and only once at least this many optimizer steps have passed since the best
        epoch. On a small data set an epoch is one or two steps, and ten epochs of patience
        would stop a fit after a few dozen steps of a noisy validation loss; on large data
        sets ``patience`` epochs are far more steps than this, and it changes nothing.
    restore_best_weights : bool
        When stopping (or at the end of training, or when it is interrupted by
        KeyboardInterrupt), put back the weights of the best epoch.

    Attributes
    ----------
    stopped_epoch : int or None
        The epoch (0-based) after which training stopped, None if it ran to the end.
    best_epoch : int or None
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, patience_steps=500,
                 restore_best_weights=False):
        super().__init__(monitor, patience, min_delta, patience_steps)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, model):
        super().on_train_begin(model)
        self.stopped_epoch = self.best_epoch = None
        self._best_weights = None

    def on_epoch_end(self, model, epoch, logs):
        if self._improved(logs, model):
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._best_weights = model.get_weights()
            return False
        if self._out_of_patience(model):
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.restore_best_weights and self._best_weights is not None:
            model.set_weights(self._best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when the monitored loss stops improving.

    Parameters
    ----------
    monitor : {"val_loss", "loss"}
    factor : float in (0, 1)
    patience : int >= 0
        Epochs without improvement before the rate is reduced.
    min_delta : float >= 0
    cooldown : int >= 0
        Epochs to wait after a reduction before counting again.
    min_lr : float >= 0
        The rate is never reduced below this.

    Attributes
    ----------
    reductions : list of (epoch, new_learning_rate)
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=0.0, cooldown=0,
                 min_lr=0.0):
        super().__init__(monitor, patience, min_delta)
        if not 0 < check_number(factor, "factor") < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        cooldown = check_positive_int(cooldown, "cooldown", minimum=0)
        if not check_number(min_lr, "min_lr") >= 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}")
        self.factor, self.cooldown, self.min_lr = float(factor), cooldown, float(min_lr)

    def on_train_begin(self, model):
        super().on_train_begin(model)
        self._cooling = 0
        self.reductions = []

    def on_epoch_end(self, model, epoch, logs):
        improved = self._improved(logs, model)
        if self._cooling > 0:
            self._cooling -= 1
            self.wait = 0
            return False
        if improved or self.wait < self.patience:
            return False
        optimizer = model.optimizer_
        new_lr = max(optimizer.learning_rate * self.factor, self.min_lr)
        if new_lr < optimizer.learning_rate:
            optimizer.learning_rate = new_lr
            self.reductions.append((epoch, new_lr))
        self._cooling, self.wait = self.cooldown, 0
        return False


def check_callbacks(callbacks, validation):
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
