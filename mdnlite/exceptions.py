"""Every error and warning class of mdnlite, in one place (all exported by ``mdnlite``).

Errors: ``NotFittedError`` (a method needs ``fit`` first), ``NonFiniteLossError`` (training
stopped being finite), ``ModelFileError`` (a file ``load`` refuses), ``BackendUnavailableError``
(CuPy or a device is missing). Warnings: ``DivergenceWarning`` and ``OverfittingWarning``
(a fitted model that should not be trusted). Argument errors are plain ``ValueError`` and
``TypeError``, raised by ``validation``.
"""

import functools
import sys

__all__ = ["NotFittedError", "NonFiniteLossError", "ModelFileError", "BackendUnavailableError",
           "DivergenceWarning", "OverfittingWarning", "ScalingWarning", "not_fitted"]


class BackendUnavailableError(ImportError):
    """The requested array backend cannot be used on this machine."""


class ModelFileError(ValueError):
    """A model file cannot be used: unreadable, truncated, modified, of another version, or
    holding a value that a saved model cannot have (the message names the field)."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the model kept its last finite weights.

    Attributes
    ----------
    usable : bool
        Whether the kept weights give a finite loss on every training sample (and so finite
        predictions and scores there). The message says which weights were kept.
    epoch : int or None
        The epoch whose loss was not finite, and ``loss`` that loss.
    """

    def __init__(self, message, usable=True, epoch=None, loss=None):
        super().__init__(message)
        self.usable, self.epoch, self.loss = usable, epoch, loss


class OverfittingWarning(UserWarning):
    """The fitted model scores worse on held-out data (the rows early stopping held out, or
    the caller's validation data) than the best constant prediction of the training targets
    (for an ``MDN``, one Gaussian): it does not generalise. The message names what to
    change."""


class DivergenceWarning(UserWarning):
    """Training ended with a model that is likely useless: a training loss far above that of
    a constant prediction, every scale at its floor, or one component taking every sample.
    The message names the epoch and a remedy."""


class ScalingWarning(UserWarning):
    """Data given to ``partial_fit`` or a ``warm_start`` fit lie many spreads away from the
    standardisation the model learned on its first data (kept on purpose, so that the
    weights keep their meaning): the network then sees inputs or targets far outside what
    it was trained on. The message names the column and what to do."""


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
