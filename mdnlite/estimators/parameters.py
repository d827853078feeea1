"""Constructor arguments as parameters, in scikit-learn's manner, for every estimator.

An estimator's ``__init__`` only stores its arguments under their own names; this mixin reads
them back (``get_params``), changes them (``set_params``) and prints them (``repr``), and
tells scikit-learn what kind of estimator it is (``__sklearn_tags__`` for scikit-learn 1.6
and newer, ``_estimator_type`` and ``_more_tags`` before), so that ``clone``, pipelines,
grid searches and cross-validation work without mdnlite depending on scikit-learn: it is
imported only when scikit-learn itself asks for the tags.
"""

import inspect

__all__ = ["Params", "NETWORK_PARAMETERS", "document_parameters"]


class Params:
    """Mixin: the parameters of an estimator are the arguments of its ``__init__``."""

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep=True):
        """The constructor arguments as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments; they take effect at the next ``fit``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}")
            setattr(self, name, value)
        return self

    # --- what scikit-learn asks -------------------------------------------------------------

    _estimator_type = "regressor"  # or "density_estimator"; scikit-learn < 1.6 reads this

    def __sklearn_tags__(self):
        """The estimator's tags for scikit-learn >= 1.6 (``sklearn.utils.get_tags``)."""
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        regressor = self._estimator_type == "regressor"
        return Tags(
            estimator_type=self._estimator_type,
            # a regressor needs y, of one or several target columns
            target_tags=TargetTags(required=regressor, multi_output=regressor,
                                   single_output=True),
            # score is a mean log-likelihood, not R²: no R² threshold applies
            regressor_tags=RegressorTags(poor_score=True) if regressor else None,
            input_tags=InputTags(allow_nan=False, sparse=False),
        )

    def _more_tags(self):
        """The same tags for scikit-learn < 1.6."""
        regressor = self._estimator_type == "regressor"
        return {"multioutput": regressor, "poor_score": True, "requires_y": regressor,
                "allow_nan": False}

    def _saved_params(self):
        """The parameters a saved file records (see ``io.save``): by default the current ones."""
        return self.get_params()

    def __repr__(self):
        """The class and the parameters that differ from their defaults, as scikit-learn
        prints them: ``MDN(n_components=3)``."""
        signature = inspect.signature(type(self).__init__).parameters
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if not _is_default(v, signature[k].default))
        return f"{type(self).__name__}({args})"


def _is_default(value, default):
    """Whether ``value`` is the default itself: equal, and of the same type (1 is not 1.0 or
    True); an array or anything that cannot say is never the default."""
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


# The network and training hyperparameters, documented once: every estimator's docstring has
# a "{network_parameters}" slot, filled by ``document_parameters`` with these entries and the
# defaults of its own __init__.
NETWORK_PARAMETERS = """\
hidden_sizes : sequence of int
    Widths of the hidden layers.
activation : str
    Hidden activation: "tanh", "relu", "sigmoid", "softplus", "elu" or "identity".
optimizer : {"adam", "rmsprop", "sgd"}
    The update rule: ``nn.optim.Adam``, ``nn.optim.RMSProp`` or ``nn.optim.SGD`` (no momentum),
    its other hyperparameters at their defaults (see ``optim``).
learning_rate : float > 0
    The optimizer's step size: that of the first epoch, which ``learning_rate_schedule``
    and callbacks may lower.
weight_decay : float >= 0 or "auto"
    L2 penalty on all parameters (see ``nn.optim.Optimizer``). "auto" is
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
