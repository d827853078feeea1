"""First-order optimizers over parallel lists of arrays: SGD with momentum, RMSProp, Adam.

``step(params, grads)`` updates every array of ``params`` in place from ``grads``; the state
(velocities, moment estimates) lives in lists parallel to ``params``, created on the first
step. Optional L2 weight decay and global gradient-norm clipping act before the update.
Nothing here synchronises with the host: hyperparameters are Python floats. The updates
write their intermediate arrays into scratch arrays kept from step to step, never saved.
"""

import math

import numpy as np

from ..backend import array_module
from ..validation import check_number, check_real

__all__ = ["Optimizer", "SGD", "RMSProp", "Adam", "OPTIMIZERS", "make_optimizer"]


class Optimizer:
    """Shared machinery: hyperparameter checks, weight decay, clipping and state handling.

    Parameters
    ----------
    learning_rate : float > 0
    weight_decay : float >= 0
        L2 penalty λ: each gradient becomes g + λ p before the update (the loss gains
        λ/2 Σ p²). The TF article uses it against spikes in the scales.
    clip_norm : float > 0 or None
        If set, the gradients are scaled by min(1, clip_norm / ‖g‖) where ‖g‖ is the
        Euclidean norm of all gradients together (taken after weight decay).
    """

    state_names = ()
    nonnegative_state = ()  # state that only a corrupted model can hold negative values of

    def __init__(self, learning_rate, weight_decay=0.0, clip_norm=None):
        check_real(learning_rate, "learning_rate", strict=True)
        check_real(weight_decay, "weight_decay")
        if clip_norm is not None:
            check_real(clip_norm, "clip_norm", strict=True)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.iterations = 0
        self.state = None  # {name: list of arrays parallel to params}
        self._scratch = {}  # {name: {i: array shaped like params[i]}}, for intermediates

    def __getstate__(self):
        # scratch arrays hold nothing between steps: a copy or a pickle does without them
        return {**self.__dict__, "_scratch": {}}

    def _init_state(self, params):
        xp = array_module(params[0])
        self.state = {name: [xp.zeros_like(p) for p in params] for name in self.state_names}

    def _work(self, name, i, p):
        """A scratch array shaped like ``p`` (the i-th parameter), kept for the next step:
        the update's intermediates then cost no allocation (which for arrays of 64 KiB and
        more can mean fresh pages from the system at every step)."""
        # (an optimizer unpickled from before scratch arrays existed has no _scratch yet)
        arrays = self.__dict__.setdefault("_scratch", {}).setdefault(name, {})
        a = arrays.get(i)
        if a is None or a.shape != p.shape or a.dtype != p.dtype:
            a = arrays[i] = array_module(p).empty_like(p)
        return a

    def _effective_grads(self, params, grads):
        """Gradients with weight decay and clipping applied (into scratch arrays, if any)."""
        if self.weight_decay:
            decayed = []
            for i, (g, p) in enumerate(zip(grads, params)):
                d = self._work("decayed", i, p)
                array_module(p).multiply(p, self.weight_decay, out=d)
                d += g
                decayed.append(d)
            grads = decayed
        if self.clip_norm is not None:
            xp = array_module(grads[0])
            sq = sum(xp.vdot(g, g) for g in grads)
            scale = xp.minimum(1.0, self.clip_norm / (xp.sqrt(sq) + 1e-12))  # stays on device
            grads = [g * scale for g in grads]
        return grads

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (two lists of arrays, same shapes)."""
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameter arrays but {len(grads)} gradient arrays")
        if self.state is None:
            self._init_state(params)
        elif self.state and len(params) != len(next(iter(self.state.values()))):
            raise ValueError("step() got other parameters than the ones its state was built for")
        self.iterations += 1
        grads = self._effective_grads(params, grads)
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(i, p, g)

    def _update(self, i, p, g):
        raise NotImplementedError

    def flush_subnormals(self, params):
        """Set parameters and optimizer state below the dtype's smallest normal number to 0.

        Weight decay drives the weights of unused units towards 0, where they become
        subnormal floats, on which CPUs compute many times slower; such values change no
        result. Called by the training loop every ``estimators.training.FLUSH_EVERY`` epochs
        (subnormals take many epochs of decay to appear), never per step.
        """
        xp = array_module(params[0])
        tiny = float(np.finfo(params[0].dtype).tiny)
        for a in [*params, *(a for values in (self.state or {}).values() for a in values)]:
            a[xp.abs(a) < tiny] = 0

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.learning_rate!r})"


class SGD(Optimizer):
    """Stochastic gradient descent with (optional) heavy-ball momentum.

    v ← μ v - η g;  p ← p + v   (with μ = 0 this is p ← p - η g).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= check_number(momentum, "momentum") < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.state_names = ("velocity",) if self.momentum else ()

    def _update(self, i, p, g):
        if not self.momentum:
            p -= self.learning_rate * g
            return
        v = self.state["velocity"][i]
        v *= self.momentum
        v -= self.learning_rate * g
        p += v


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton), as used by the TF article.

    s ← ρ s + (1 - ρ) g²;  p ← p - η g / (sqrt(s) + ε).
    """

    state_names = ("mean_square",)
    nonnegative_state = ("mean_square",)

    def __init__(self, learning_rate=0.001, rho=0.9, eps=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= check_number(rho, "rho") < 1:
            raise ValueError(f"rho must be in [0, 1), got {rho!r}")
        check_real(eps, "eps", strict=True)
        self.rho, self.eps = float(rho), float(eps)

    def _update(self, i, p, g):
        xp = array_module(p)
        s = self.state["mean_square"][i]
        work = self._work("update", i, p)
        s *= self.rho
        xp.multiply(g, g, out=work)
        work *= 1.0 - self.rho
        s += work
        xp.sqrt(s, out=work)
        work += self.eps
        xp.divide(g, work, out=work)
        work *= self.learning_rate
        p -= work


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction.

    m ← β₁ m + (1 - β₁) g;  v ← β₂ v + (1 - β₂) g²;
    p ← p - η m̂ / (sqrt(v̂) + ε) with m̂ = m / (1 - β₁ᵗ), v̂ = v / (1 - β₂ᵗ).
    """

    state_names = ("m", "v")
    nonnegative_state = ("v",)

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, eps=1e-8, **kwargs):
        super().__init__(learning_rate, **kwargs)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= check_number(beta, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        check_real(eps, "eps", strict=True)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _update(self, i, p, g):
        xp = array_module(p)
        t = self.iterations
        m, v = self.state["m"][i], self.state["v"][i]
        work = self._work("update", i, p)
        m *= self.beta1
        xp.multiply(g, 1.0 - self.beta1, out=work)
        m += work
        v *= self.beta2
        xp.multiply(g, g, out=work)
        work *= 1.0 - self.beta2
        v += work
        # m̂ / (sqrt(v̂) + ε) = (c2 / c1) m / (sqrt(v) + ε c2) with c1 = 1 - β₁ᵗ and
        # c2 = sqrt(1 - β₂ᵗ): the bias corrections become host scalars, no extra array passes
        c1 = 1.0 - self.beta1 ** t
        c2 = math.sqrt(1.0 - self.beta2 ** t)
        step = xp.sqrt(v, out=work)
        step += self.eps * c2
        xp.divide(m, step, out=step)
        step *= self.learning_rate * c2 / c1
        p -= step


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name, **kwargs):
    """Return a new optimizer by name (one of ``OPTIMIZERS``) with the given hyperparameters."""
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}") from None
    return cls(**kwargs)
