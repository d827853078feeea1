"""The rules behind the estimators' "auto" values, each a function of the data's size.

``auto_epochs`` (a fixed budget of optimizer steps), ``auto_noise`` (noise regularisation),
``auto_weight_decay`` and ``auto_early_stopping``: what the defaults do, stated once, with the
reason for each constant beside it. The fit loop (``base``) calls them; nothing here trains.
"""

import math

import numpy as np

from .callbacks import EarlyStopping

__all__ = ["AUTO_STEPS", "PATIENCE_STEPS", "MIN_VALIDATION_ROWS", "WEIGHT_DECAY_SCALE",
           "NOISE_SCALE", "NOISE_MAX",
           "auto_epochs", "auto_noise", "auto_early_stopping", "auto_weight_decay",
           "early_stopper", "regularise"]

AUTO_STEPS = 10_000  # optimizer steps of a fit with max_epochs="auto"


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


def early_stopper(model, shape, given, callbacks, continuing):
    """The ``EarlyStopping`` that a model's ``early_stopping`` asks for on data of ``shape`` (N,
    D_in), or None; ``given``: how many held-out rows the caller gave (0: none). None
    too when the caller's callbacks stop early themselves, and for a warm start without
    held-out rows of the caller's: rows drawn now would have been trained on before."""
    mode = model.early_stopping if isinstance(model.early_stopping, str) else bool(
        model.early_stopping)
    if (not mode or any(isinstance(cb, EarlyStopping) for cb in callbacks)
            or (continuing and not given)):
        return None
    n_val = int(round(float(model.validation_fraction) * shape[0]))
    if mode == "auto":
        if not (auto_early_stopping(shape[1], given or n_val)
                and (given or n_val < shape[0])):
            return None
    elif not given and not 1 <= n_val < shape[0]:
        raise ValueError(f"early_stopping=True with validation_fraction="
                         f"{model.validation_fraction} holds out {n_val} of {shape[0]} "
                         f"samples: too few to train on or to score")
    return EarlyStopping(patience=10, patience_steps=PATIENCE_STEPS,
                         restore_best_weights=True)


def regularise(model, n_samples):
    """Set a network estimator's weight decay for N training samples; return the noise
    standard deviations per packed column (D_in + D,) on the device, or None."""
    decay = model.weight_decay
    model.optimizer_.weight_decay = (auto_weight_decay(n_samples) if decay == "auto"
                                     else float(decay))
    levels = [auto_noise(n_samples, d) if v == "auto" else float(v)
              for v, d in ((model.input_noise, model.n_features_in_), (model.target_noise, 1))]
    model.noise_ = tuple(levels)
    if not any(levels):
        return None
    stds = np.repeat(levels, [model.n_features_in_, model.n_targets_])
    return model._xp.asarray(stds, dtype=model.network_.flat_params.dtype)
