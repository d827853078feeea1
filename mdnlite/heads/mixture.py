"""The MDN output head: raw network outputs z -> mixture parameters -> NLL, and dNLL/dz.

The head has no weights. It names the parts of z (``split``), maps them to a mixture
(log-softmax weights, identity means, positive scales) and computes the negative
log-likelihood with its closed-form gradient (docs/derivation.md derives every line).
The generic backprop of ``nn.network`` carries dz inwards from here.
"""

from collections import namedtuple

import warnings

import numpy as np

from ..backend import LOG_2PI, array_module, log_softmax, softmax_parts, softplus
from ..mixture import cholesky
from ..mixture.density import Mixture, log_normal
from ..validation import Integer, Options, Real, check_params

__all__ = ["MixtureHead", "RawOutputs", "NLLCache", "SCALE_ACTIVATIONS", "COVARIANCES"]

class RawOutputs(namedtuple("RawOutputs", ["logits", "means", "scale_inputs", "lower"])):
    __slots__ = ()

    @property
    def scales(self):
        """The old name of ``scale_inputs`` (they are pre-activations, not scales)."""
        warnings.warn("RawOutputs.scales is now RawOutputs.scale_inputs: the pre-activations s "
                      "of the scales, σ = act(s) + min_scale", DeprecationWarning, stacklevel=2)
        return self.scale_inputs


RawOutputs.__doc__ = """Named views into the raw head outputs z (N, n_outputs).

Attributes
----------
logits : array (N, K)
    Weight logits, columns [0, K).
means : array (N, K, D)
    Means (identity activation), the next K*D columns.
scale_inputs : array (N, K, S)
    The pre-activations s of the scales (σ = act(s) + min_scale), the next K*S columns.
lower : array (N, K, M)
    Strictly-lower Cholesky entries (unconstrained), the last K*M columns;
    M = D (D - 1) / 2 for covariance "full", 0 otherwise.
"""

NLLCache = namedtuple("NLLCache", ["resp", "weights", "u", "v", "scales", "a", "factors"])
NLLCache.__doc__ = """What ``nll_backward`` needs, components first (``MixtureHead.nll_forward``).

resp : (K, N) responsibilities γ;  weights : (K, N) mixture weights π;
u : (K, D, N) standardised residuals (y - μ)/σ (None for "full");
v : (D, K, N) whitened residuals L⁻¹ (y - μ) for "full" (None otherwise);
scales : (K, S, N) σ (the diagonal of L for "full");  a : (K, S, N) act(s);
factors : the Cholesky factors L (D, D, K, N) for "full", as a ``cholesky.Triangular`` view
of the raw outputs (no dense L is built), None otherwise
"""


class _Exp:
    """σ = exp(s) (Bishop, Netlab); dσ/ds = exp(s) = a, and d log σ/ds = a/σ <= 1."""

    @staticmethod
    def forward(s):
        return array_module(s).exp(s)

    @staticmethod
    def log_sigma_slope(a, scales):
        # an a that overflowed (s > 88.7 in float32) has σ = inf too, and a/σ = inf/inf = NaN;
        # read as the largest float it gives 0: the component has density 0, γ = 0, and any
        # finite factor leaves its gradient 0
        ratio = array_module(a).minimum(a, float(np.finfo(a.dtype).max))
        ratio /= scales
        return ratio


class _Softplus:
    """σ = log(1 + exp(s)); dσ/ds = sigmoid(s) = 1 - exp(-a), written -expm1(-a), and
    d log σ/ds = (1 - exp(-a))/σ <= a/σ <= 1."""

    @staticmethod
    def forward(s):
        return softplus(s)

    @staticmethod
    def log_sigma_slope(a, scales):
        d = array_module(a).expm1(-a)
        d /= scales
        d *= -1
        return d


class _ELU1:
    """σ = ELU(s) + 1 (the Keras article): s + 1 for s > 0, exp(s) otherwise.

    dσ/ds = 1 for s > 0 and exp(s) = a otherwise; since a > 1 exactly when s > 0, that is
    min(a, 1), and d log σ/ds = min(a, 1)/σ <= a/σ <= 1. Both branches at once:
    a = exp(min(s, 0)) + max(s, 0), which is 1 + s or exp(s) + 0 exactly.
    """

    @staticmethod
    def forward(s):
        xp = array_module(s)
        a = xp.exp(xp.minimum(s, 0))
        a += xp.maximum(s, 0)
        return a

    @staticmethod
    def log_sigma_slope(a, scales):
        d = array_module(a).minimum(a, 1)
        d /= scales
        return d


SCALE_ACTIVATIONS = {"exp": _Exp, "softplus": _Softplus, "elu1": _ELU1}
COVARIANCES = ("isotropic", "diagonal", "full")


class MixtureHead:
    """Mixture density output head for K components and D-dimensional targets.

    Parameters
    ----------
    n_components : int
        K >= 1.
    n_dims : int, default=1
        D >= 1, the target dimension.
    covariance : {"diagonal", "isotropic", "full"}, default="diagonal"
        ``"isotropic"``: one scale per component, Σ_k = σ_k² I (Bishop, Netlab).
        ``"diagonal"``: one scale per component and dimension, Σ_k = diag(σ_k1², ..., σ_kD²).
        ``"full"``: Σ_k = L_k L_kᵀ with L_k lower-triangular (Williams 1996); its diagonal
        is a scale per dimension, the entries below it are unconstrained.
    scale_activation : {"softplus", "exp", "elu1"}, default="softplus"
        Maps a scale pre-activation s to a = act(s) > 0.
    min_scale : float >= 0, default=1e-3
        Floor added to every scale (the diagonal of L for "full"): σ = act(s) + min_scale.
        Keeps narrow components from collapsing onto single points. The defaults are those
        of ``MDN``; without a floor a scale can underflow (docs/derivation.md, Section 3.6).

    Raises
    ------
    TypeError
        ``n_components`` or ``n_dims`` not an integer (bools and floats such as 3.0 or inf
        included; NumPy integers are integers), ``min_scale`` not a number.
    ValueError
        Values out of range, or a covariance or scale activation not among the choices.

    Notes
    -----
    The raw outputs z (N, n_outputs) hold, in this order, K weight logits, K*D means, K*S
    scale pre-activations (S = 1 isotropic, S = D otherwise) and K*M strictly-lower Cholesky
    entries (M = D(D-1)/2 for "full", else 0): n_outputs = K (1 + D + S + M). For K = 3 and
    D = 2: 15 outputs diagonal, 12 isotropic, 18 full.

    ``split``, ``mixture`` and ``nll_forward`` check the shape of z (and y); they check no
    values, since any finite z is a valid mixture (a NaN in z gives a NaN loss). The training
    step calls ``nll_forward_t``, the same without the checks on zᵀ (n_outputs, N), which the
    network's last layer writes directly (``Sequential.forward(x, transpose=True)``).
    """

    _parameter_constraints = {
        "n_components": Integer(1),
        "n_dims": Integer(1),
        "covariance": Options(*COVARIANCES),
        "scale_activation": Options(*SCALE_ACTIVATIONS),
        "min_scale": Real(0),
    }

    def __init__(self, n_components, n_dims=1, covariance="diagonal",
                 scale_activation="softplus", min_scale=1e-3):
        self.n_components = n_components
        self.n_dims = n_dims
        self.covariance = covariance
        self.scale_activation = scale_activation
        self.min_scale = min_scale
        self.__dict__.update(check_params(self))  # the checked values, as int, str and float
        self._act = SCALE_ACTIVATIONS[scale_activation]

    def __repr__(self):
        return (f"MixtureHead(n_components={self.n_components}, n_dims={self.n_dims}, "
                f"covariance={self.covariance!r}, scale_activation={self.scale_activation!r}, "
                f"min_scale={self.min_scale!r})")

    @property
    def n_scales(self):
        """S: scale pre-activations per component."""
        return 1 if self.covariance == "isotropic" else self.n_dims

    @property
    def n_lower(self):
        """M: strictly-lower Cholesky entries per component (0 unless covariance="full")."""
        return cholesky.n_lower(self.n_dims) if self.covariance == "full" else 0

    @property
    def n_outputs(self):
        """Width of the raw output z: K (1 + D + S + M)."""
        return self.n_components * (1 + self.n_dims + self.n_scales + self.n_lower)

    def _offsets(self):
        K, D, S = self.n_components, self.n_dims, self.n_scales
        return K, K + K * D, K + K * D + K * S

    def _check_outputs(self, z):
        """z itself, if it is a floating (N, n_outputs) array; a named error otherwise."""
        if not (hasattr(z, "shape") and hasattr(z, "dtype")):
            raise TypeError(f"z must be an array (N, {self.n_outputs}), got "
                            f"{type(z).__name__}")
        if np.dtype(z.dtype).kind != "f":
            raise TypeError(f"z must hold floating-point numbers, got dtype {z.dtype}")
        if z.ndim != 2 or z.shape[1] != self.n_outputs:
            raise ValueError(f"z must be (N, {self.n_outputs}), the raw outputs of {self!r}, "
                             f"got shape {z.shape}")
        return z

    def split(self, z):
        """Name the parts of z (N, n_outputs) as views: no copies (see ``RawOutputs``)."""
        return self._split(self._check_outputs(z))

    def _split(self, z):
        K, D, S, M = self.n_components, self.n_dims, self.n_scales, self.n_lower
        a, b, c = self._offsets()
        N = z.shape[0]
        return RawOutputs(
            logits=z[:, :a],
            means=z[:, a:b].reshape(N, K, D),
            scale_inputs=z[:, b:c].reshape(N, K, S),
            lower=z[:, c:].reshape(N, K, M),
        )

    def _scales(self, s):
        """Return (a, σ): the activation a = act(s) (N, K, S) and σ = a + min_scale."""
        a = self._act.forward(s)
        return a, (a + self.min_scale if self.min_scale else a)

    def mixture(self, z):
        """Mixture parameters for raw outputs z (N, n_outputs) (see ``mixture.Mixture``).

        For "full" the scales are the Cholesky factors L (N, K, D, D), Σ = L Lᵀ.
        """
        logits, means, s, lower = self._split(self._check_outputs(z))
        scales = self._scales(s)[1]
        if self.covariance == "full":  # factors assembled dimensions first, then moved last
            L = cholesky.factors(scales.transpose(2, 0, 1), lower.transpose(2, 0, 1))
            scales = L.transpose(2, 3, 0, 1)
        return Mixture(log_softmax(logits, axis=1), means, scales)

    def _split_components_first(self, zt):
        """Views of zt = zᵀ (n_outputs, N): (K, N), (K, D, N), (K, S, N), (K, M, N)."""
        K, D, S, M = self.n_components, self.n_dims, self.n_scales, self.n_lower
        a, b, c = self._offsets()
        N = zt.shape[1]
        return (zt[:a], zt[a:b].reshape(K, D, N), zt[b:c].reshape(K, S, N),
                zt[c:].reshape(K, M, N))

    def nll_forward(self, z, y):
        """Mean negative log-likelihood of targets y under the mixtures z describes.

        L = -(1/N) Σ_n logsumexp_k [ log π_nk + log N(y_n | μ_nk, Σ_nk) ]

        Parameters
        ----------
        z : array (N, n_outputs)
        y : array (N, D)

        Returns
        -------
        loss : 0-d array, on z's device (no host synchronisation)
        cache : NLLCache
            The responsibilities, weights, standardised residuals, scales and scale
            activations, components first.

        Raises
        ------
        ValueError
            z or y of another shape, or no samples.
        TypeError
            z not a floating array, y not an array of real numbers.

        Notes
        -----
        The work runs on zᵀ, components first: every sum and maximum over components then
        adds up K contiguous rows of length N, which is fast on any backend, where the same
        reduction over the short last axis of an (N, K) array is not.
        """
        z = self._check_outputs(z)
        if z.shape[0] == 0:
            raise ValueError("z holds no samples: the mean NLL of an empty batch is undefined")
        if not hasattr(y, "shape") or np.dtype(y.dtype).kind not in "iuf":
            raise TypeError(f"y must be an array of real numbers (N, D), got "
                            f"{getattr(y, 'dtype', type(y).__name__)}")
        if y.shape != (z.shape[0], self.n_dims):
            raise ValueError(f"y must be (N, D) = {(z.shape[0], self.n_dims)} for z "
                             f"{z.shape}, got shape {y.shape}")
        return self.nll_forward_t(array_module(z).ascontiguousarray(z.T), y)

    def nll_forward_t(self, zt, y):
        """``nll_forward`` on zt = zᵀ (n_outputs, N), C-contiguous, without its checks: the
        training step's path (``estimators.training.training_step``), where the network's
        last layer writes zᵀ directly. Returns (loss, cache) as ``nll_forward``."""
        log_p, cache = self.log_likelihoods_t(zt, y)
        loss = log_p.sum() * (-1.0 / zt.shape[1]) + 0.5 * self.n_dims * LOG_2PI
        return loss, cache

    def log_likelihoods_t(self, zt, y):
        """(log p(y_n | x_n) + (D/2) log 2π for each sample, (1, N); the ``NLLCache``) on
        zt = zᵀ: the forward pass of ``nll_forward_t`` before the batch mean (an ensemble
        combines its members' log-likelihoods sample by sample)."""
        logits, means, s, lower = self._split_components_first(zt)
        log_w, weights, log_total, _ = softmax_parts(logits, axis=0)  # (K, N)
        log_w -= log_total  # log π (K, N)
        a, scales = self._scales(s)  # (K, S, N)
        y = y.astype(zt.dtype, copy=False).T  # (D, N); float64 y must not promote the gradient
        L = None
        if self.covariance == "full":  # dimensions first: (D, K, N) vectors, (D, D, K, N) L
            L = cholesky.Triangular(scales.transpose(1, 0, 2), lower.transpose(1, 0, 2))
            r = y[:, None, :] - means.transpose(1, 0, 2)  # (D, K, N)
            log_comp, v = cholesky.log_density(r, L)  # (K, N); v = L⁻¹ r (D, K, N)
            u = None
        else:
            log_comp, u = log_normal(y, means, scales, axis=1, normalised=False)  # (K, D, N)
            v = None
        log_comp += log_w  # (K, N): log π_k + log N_k + (D/2) log 2π
        _, resp, log_total, m = softmax_parts(log_comp, axis=0)  # γ (K, N); (1, N) twice
        # log p(y_n) = log_total_n + m_n - (D/2) log 2π
        log_total += m
        return log_total, NLLCache(resp, weights, u, v, scales, a, L)

    def nll_backward(self, cache):
        """dL/dz (N, n_outputs) in closed form from the forward cache.

        With γ the responsibilities, u = (y - μ)/σ and L the batch mean:
        dL/dlogit_k = (π_k - γ_k)/N;  dL/dμ_kd = -γ_k u_kd / (σ_kd N);
        dL/dlog σ_kd = γ_k (1 - u_kd²) / N (diagonal),
        dL/dlog σ_k = γ_k (D - Σ_d u_kd²) / N (isotropic);  dL/ds = dL/dlog σ · d log σ/ds,
        where d log σ/ds = act'(s)/σ is at most 1 for every activation: no factor of
        dL/ds can overflow alone. The result is the transpose of a components-first array:
        a view, not a copy.
        """
        resp, weights, u, v, scales, a, L = cache
        xp = array_module(resp)
        N = resp.shape[1]
        dzt = xp.empty((self.n_outputs, N), dtype=resp.dtype)
        dlogits, dmeans, ds, dlower = self._split_components_first(dzt)
        xp.subtract(weights, resp, out=dlogits)
        dlogits *= 1.0 / N
        g = resp * (-1.0 / N)  # (K, N): -γ/N, shared by every other gradient
        slope = self._act.log_sigma_slope(a, scales)  # d log σ/ds (K, S, N), in [0, 1]
        if L is not None:
            gw, ds_t, dl = cholesky.log_density_gradients(g, v, L, slope.transpose(1, 0, 2))
            dmeans[...] = gw.transpose(1, 0, 2)
            ds[...] = ds_t.transpose(1, 0, 2)
            for m, d in enumerate(dl):
                dlower[:, m] = d
            return dzt.T
        g = g[:, None, :]  # (K, 1, N)
        # γ multiplies u before anything is squared or divided by σ: a collapsed component far
        # from y has a huge u but γ = 0, and its gradient must come out 0, not 0 * inf = NaN
        gu = g * u  # (K, D, N)
        xp.divide(gu, scales, out=dmeans)
        gu *= u  # (K, D, N): -γ u²/N
        if self.covariance == "isotropic":
            dlog_sigma = gu.sum(axis=1, keepdims=True)  # (K, 1, N)
            dlog_sigma -= self.n_dims * g
        else:
            dlog_sigma = gu
            dlog_sigma -= g
        xp.multiply(dlog_sigma, slope, out=ds)
        return dzt.T

    # the loss of this head is its NLL: the names every head answers to (``training_step``)
    loss_forward, loss_forward_t, loss_backward = nll_forward, nll_forward_t, nll_backward
