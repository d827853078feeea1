"""``GaussianMixture``: a Gaussian mixture of the joint data (x, y), fitted by EM.

The TF article's baseline for the MDN: fit p(x, y) once, then ``condition`` on any columns for
p(y | x), or p(x | y), with the MDN's prediction interface (``conditional.py``). EM runs in log
space on ``xp``; covariances are kept by their Cholesky factors and densities go through
``mixture``, so no inverse or determinant is formed. Needs no scikit-learn.
"""

import math
import sys
import warnings
from collections import namedtuple

import numpy as np

from .. import io
from ..backend import array_module, get_xp, resolve_dtype
from ..exceptions import not_fitted
from ..mixture import density
from ..validation import (Integer, Options, Real, Rule, check_array, check_params,
                          check_random_state)
from . import em
from .conditional import ConditionalGaussianMixture, check_columns, is_column
from .initialisation import kmeans
from .parameters import Params

__all__ = ["GaussianMixture", "JOINT_COVARIANCES"]

JOINT_COVARIANCES = ("full", "diagonal")  # the covariances of the joint mixture that EM fits


def __getattr__(name):
    if name == "COVARIANCES":  # its name in mdnlite 0.1.0, which heads.mixture uses too
        warnings.warn("mdnlite.gmm.COVARIANCES is now JOINT_COVARIANCES",
                      DeprecationWarning, stacklevel=2)
        return JOINT_COVARIANCES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_Fit = namedtuple("_Fit", ["log_weights", "weights", "means", "covariances", "factors", "scales"])


@io.register
class GaussianMixture(Params):
    """p(z) = Σ_k π_k N(z | μ_k, Σ_k) over joint samples z, fitted by maximum likelihood (EM).

    Parameters
    ----------
    n_components : int >= 1
        K, the number of Gaussian components.
    covariance : {"full", "diagonal"}
        A full covariance per component, or a diagonal one.
    reg_covar : float >= 0
        Added to the diagonal of every covariance after each M-step; keeps a component from
        collapsing onto a few points. 0 is allowed, but then a singular covariance is an error.
        With reg_covar = 0 every iteration is an exact EM step and never lowers the
        log-likelihood; a positive reg_covar moves each update off the EM maximum, so the
        log-likelihood may dip slightly (by more the larger reg_covar is against the smallest
        component variance), which then ends the run.
    n_init : int >= 1
        Restarts from different seeds; the run with the highest log-likelihood is kept.
    max_iter : int >= 1
        EM iterations per run at most.
    tol : float >= 0
        A run stops when the mean log-likelihood improves by less than ``tol``.
    backend : {"numpy", "cupy", "auto"} or module
    dtype : {"float64", "float32"}
    random_state : None, int >= 0 or numpy.random.Generator
        Seeds the host generator of the initialisation, so that one seed gives the same fit on
        every backend.
    verbose : int
        0 silent, 1 a line per run, 2 a line per EM iteration (on stderr).

    Attributes
    ----------
    weights_ : array (K,)
    means_ : array (K, F)
    covariances_ : array (K, F, F)
        Σ_k, reg_covar included. Diagonal covariances are stored full-shaped as well (zeros
        off the diagonal), so that both kinds offer the same interface.
    cholesky_factors_ : array (K, F, F)
        Lower-triangular L_k with Σ_k = L_k L_kᵀ (diagonal: diag(σ_k)).
    converged_ : bool
        Whether the kept run stopped by ``tol`` rather than by ``max_iter``.
    n_iter_ : int
        EM iterations of the kept run.
    lower_bound_ : float
        Mean log-likelihood of the training data under the fitted parameters (the best run).
    log_likelihood_curve_ : list of float
        The kept run's mean log-likelihood after initialisation and after every iteration;
        the last entry is ``lower_bound_``.
    n_features_in_ : int
        F, the number of columns of the joint data.

    Notes
    -----
    Initialisation (``initialisation.kmeans``): k-means++ seeds drawn from the host
    generator, refined by a few Lloyd steps; the hard k-means assignments are the first
    responsibilities.
    EM then alternates, with γ_nk the responsibilities and N_k = Σ_n γ_nk:

        E-step: log γ_nk = log-softmax_k(log π_k + log N(z_n | μ_k, Σ_k)),
                mean log-likelihood = (1/N) Σ_n logsumexp_k(log π_k + log N(z_n | μ_k, Σ_k))
        M-step: π_k = N_k / N,  μ_k = Σ_n γ_nk z_n / N_k,
                Σ_k = Σ_n γ_nk (z_n - μ_k)(z_n - μ_k)ᵀ / N_k + reg_covar I

    Examples
    --------
    >>> import numpy as np
    >>> import mdnlite
    >>> from mdnlite import datasets
    >>> t, x = datasets.inverse_sine(500, direction="inverse", random_state=0)
    >>> gmm = mdnlite.GaussianMixture(5, random_state=0).fit(np.column_stack([t, x]))
    >>> gmm.means_.shape                      # K = 5 components of p(t, x), F = 2
    (5, 2)
    >>> given_t = gmm.condition(inputs=[0])    # p(x | t): the MDN's prediction interface
    >>> weights, means, scales = given_t.predict_mixture(t[:3])
    >>> weights.shape, means.shape
    ((3, 5), (3, 5, 1))
    >>> score = given_t.score(t, x)           # mean log p(x | t) in nats
    >>> isinstance(score, float)
    True
    """

    def __init__(self, n_components=1, *, covariance="full", reg_covar=1e-6, n_init=1,
                 max_iter=100, tol=1e-3, backend="numpy", dtype="float64", random_state=None,
                 verbose=0):
        self.n_components = n_components
        self.covariance = covariance
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.backend = backend
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    _parameter_constraints = {
        "n_components": Integer(1),
        "covariance": Options(*JOINT_COVARIANCES),
        "reg_covar": Real(0),
        "n_init": Integer(1),
        "max_iter": Integer(1),
        "tol": Real(0),
        "verbose": Integer(0),
        "random_state": Rule(lambda v, name: check_random_state(v) and v),
        "backend": Rule(lambda v, name: get_xp(v) and v),
        "dtype": Rule(lambda v, name: resolve_dtype(v) and v),
    }

    def _check_params(self):
        """Check every constructor argument (``_parameter_constraints``); return (xp, dtype)."""
        check_params(self)
        return get_xp(self.backend), resolve_dtype(self.dtype)

    def _check_fitted(self):
        if not hasattr(self, "means_"):
            raise not_fitted(self)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "means_")

    # --- fitting ---------------------------------------------------------------------------------

    _estimator_type = "density_estimator"

    def fit(self, X, y=None):
        """Fit the mixture to joint samples ``X`` (N, F), or (N,) for F = 1; returns self.

        ``y`` is ignored (scikit-learn's pipelines and searches pass one).

        Raises
        ------
        ValueError
            Bad data or arguments, fewer samples than components, data so large that the
            squared distances of k-means or the second moments of EM would overflow the
            dtype (rescale them), or a covariance that became singular (raise
            ``reg_covar``). A refused fit leaves a fitted model as it was.
        """
        xp, dtype = self._check_params()
        data = check_array(X, "X", xp=xp, dtype=dtype)
        N, K = data.shape[0], int(self.n_components)
        if N < K:
            raise ValueError(f"more components than samples: n_components={K} but X has "
                             f"{N} samples")
        rng = check_random_state(self.random_state)
        largest = float(xp.abs(data).max())
        em.check_range(largest, data.shape, dtype)
        # a standard deviation within a few ulps of the largest coordinate is rounding noise
        resolution = 16 * np.finfo(dtype).eps * largest
        best = None
        for run in range(self.n_init):
            result = self._em(data, kmeans(data, K, rng), resolution)
            if self.verbose:
                print(f"init {run + 1}/{self.n_init}: log-likelihood {result[1][-1]:.6f} "
                      f"after {result[3]} iterations", file=sys.stderr, flush=True)
            if best is None or result[1][-1] > best[1][-1]:
                best = result
        fit, curve, self.converged_, self.n_iter_ = best
        self._set_parameters(self.covariance, fit.weights, fit.means, fit.covariances,
                             fit.factors)
        self.lower_bound_, self.log_likelihood_curve_ = curve[-1], curve
        return self

    def _em(self, data, responsibilities, resolution):
        """One EM run from initial responsibilities; returns (fit, curve, converged, n_iter)."""
        fit = self._m_step(data, responsibilities, resolution)
        log_lik, responsibilities = em.e_step(data, fit)
        curve, converged, n_iter = [log_lik], False, 0
        while not converged and n_iter < self.max_iter:
            fit = self._m_step(data, responsibilities, resolution)
            new, responsibilities = em.e_step(data, fit)
            converged = new - log_lik < self.tol
            log_lik, n_iter = new, n_iter + 1
            curve.append(log_lik)
            if self.verbose >= 2:
                print(f"  iteration {n_iter}: log-likelihood {log_lik:.6f}", file=sys.stderr)
        return fit, curve, converged, n_iter

    def _m_step(self, data, gamma, resolution):
        """Weights, means and covariances (+ reg_covar I) from responsibilities γ (N, K)."""
        xp = array_module(data)
        counts = gamma.sum(axis=0) + 10 * np.finfo(data.dtype).eps  # (K,): finite if emptied
        means = xp.matmul(gamma.T, data) / counts[:, None]  # (K, F)
        centred = data - means[:, None, :]  # (K, N, F)
        weighted = gamma.T[:, :, None] * centred  # (K, N, F)
        K, F = means.shape
        diagonal = xp.arange(F)
        if self.covariance == "full":
            products = xp.matmul(weighted.swapaxes(1, 2), centred)  # (K, F, F)
            covariances = products + products.swapaxes(1, 2)  # symmetric to the last bit
            covariances /= 2 * counts[:, None, None]
            covariances[:, diagonal, diagonal] += self.reg_covar
            factors = em.factorise(covariances, resolution)
            scales = factors
        else:
            variances = (weighted * centred).sum(axis=1) / counts[:, None]  # (K, F)
            variances += self.reg_covar
            scales = xp.sqrt(variances)  # (K, F)
            covariances = xp.zeros((K, F, F), dtype=data.dtype)
            factors = xp.zeros((K, F, F), dtype=data.dtype)
            covariances[:, diagonal, diagonal] = variances
            factors[:, diagonal, diagonal] = scales
            if not bool((scales > resolution).all()):
                factors = None
        if factors is None:
            raise ValueError(
                f"a component's covariance became singular with reg_covar={self.reg_covar} "
                "(components collapsed onto too few distinct points, duplicated points for "
                "example): raise reg_covar, use fewer components, or rescale the data")
        weights = counts / counts.sum()
        return _Fit(xp.log(weights), weights, means, covariances, factors, scales)

    def _set_parameters(self, covariance, weights, means, covariances, factors):
        """The learned arrays, and what scoring needs from them. ``covariance`` is the kind
        they were fitted with (``set_params`` may change the parameter before a refit)."""
        xp = array_module(means)
        self._covariance = covariance
        self.weights_, self.means_ = weights, means
        self.covariances_, self.cholesky_factors_ = covariances, factors
        self.n_features_in_ = means.shape[1]
        self._log_weights = xp.log(weights)
        if covariance == "full":
            self._scales = factors
        else:  # mdnlite.mixture takes diagonal Gaussians by their standard deviations
            self._scales = xp.diagonal(factors, axis1=1, axis2=2).copy()

    # --- the joint density -------------------------------------------------------------------

    def _data(self, X):
        self._check_fitted()
        return check_array(X, "X", xp=array_module(self.means_), dtype=self.means_.dtype,
                           n_features=self.n_features_in_, owner=type(self).__name__)

    def score_samples(self, X):
        """log p(z) for each joint sample, (N,), in nats."""
        return density.log_prob(self._data(X), self._log_weights[None], self.means_[None],
                                self._scales[None])

    def score(self, X, y=None):
        """Mean log p(z) over the samples, as a float: a log-likelihood, so higher is better
        (what scikit-learn's model selection maximises by default). ``y`` is ignored."""
        return float(self.score_samples(X).mean())

    def n_parameters(self):
        """Free parameters: K - 1 weights, K F means, and K F (F + 1) / 2 (full) or K F
        (diagonal) covariance entries."""
        self._check_fitted()
        K, F = self.means_.shape
        per_covariance = F * (F + 1) // 2 if self._covariance == "full" else F
        return K - 1 + K * F + K * per_covariance

    def aic(self, X):
        """Akaike information criterion -2 log L + 2 p on ``X`` (lower is better)."""
        log_lik = float(self.score_samples(X).sum())
        return -2 * log_lik + 2 * self.n_parameters()

    def bic(self, X):
        """Bayesian information criterion -2 log L + p log N on ``X`` (lower is better)."""
        scores = self.score_samples(X)
        return -2 * float(scores.sum()) + self.n_parameters() * math.log(scores.shape[0])

    def sample(self, n_samples=1, random_state=None):
        """Draw ``n_samples`` joint samples, (n_samples, F), on the model's device.

        ``random_state`` seeds a host generator, so that a seed gives the same samples on
        every backend. (Unlike scikit-learn, the component labels are not returned.)
        """
        self._check_fitted()
        drawn = density.sample(self._log_weights[None], self.means_[None], self._scales[None],
                               n_samples=n_samples, rng=random_state)
        return drawn[0]

    # --- conditioning ------------------------------------------------------------------------

    def condition(self, inputs, targets=None):
        """p(targets | inputs) with the MDN's prediction interface.

        Parameters
        ----------
        inputs : int or sequence of int
            Columns of the joint data that are given (X's columns, in this order).
        targets : int or sequence of int, optional
            Columns to predict (y's columns, in this order); by default every other column.
            ``condition(inputs=[1])`` on (x, y) data answers y -> x.

        Returns
        -------
        ConditionalGaussianMixture
            A snapshot: refitting this model does not change it. See its docstring for the
            formulas. Its y is 1-D, as for an ``MDN`` fitted on a 1-D y (``predict`` and
            ``predict_mode`` give (N,), ``sample`` (N, n_samples)), when ``targets`` is one
            column number, or None with one column left; a sequence of column numbers,
            even of one, keeps the target axis (N, Dy), as NumPy's ``a[:, 1]`` and
            ``a[:, [1]]`` do.
        """
        self._check_fitted()
        given = targets
        inputs, targets = check_columns(inputs, targets, self.n_features_in_)
        one_column = is_column(given) or (given is None and len(targets) == 1)
        order = list(inputs + targets)
        factors = em.factorise(self.covariances_[:, order][:, :, order], 0.0)
        if factors is None:
            raise ValueError("a component's covariance is not positive definite in this "
                             "column order: refit with a larger reg_covar")
        return ConditionalGaussianMixture(self._log_weights, self.means_[:, order], factors,
                                          inputs, targets, target_ndim=1 if one_column else 2)

    # --- persistence (the file format is in mdnlite.io) -------------------------------------

    def save(self, path):
        """Write the fitted model to ``path`` (one .npz file, written atomically)."""
        return io.save(self, path)

    def _saved_params(self):
        """The current parameters, but the number and kind of components as fitted (a
        ``set_params`` since changes them only at the next fit)."""
        params = self.get_params()
        params.update(n_components=int(self.weights_.shape[0]), covariance=self._covariance)
        return params

    def _get_state(self):
        return {
            "arrays": {"weights": self.weights_, "means": self.means_,
                       "covariances": self.covariances_,
                       "cholesky_factors": self.cholesky_factors_},
            "dtype": self.means_.dtype.name,
            "n_features_in": int(self.n_features_in_),
            "covariance": self._covariance,
            "converged": bool(self.converged_),
            "n_iter": int(self.n_iter_),
            "lower_bound": self.lower_bound_,
            "log_likelihood_curve": self.log_likelihood_curve_,
        }

    def _expected_arrays(self, state):
        """Check the saved JSON state (``io.Fields``); return the arrays the file must hold,
        {name: (shape, dtype name)} (see ``NetworkEstimator._expected_arrays``)."""
        dtype = state.choice("dtype", ("float32", "float64"))
        state.choice("covariance", (self.covariance,))  # saved as fitted (_saved_params)
        state.boolean("converged")
        n_iter = state.integer("n_iter")
        curve = state.numbers("log_likelihood_curve", length=n_iter + 1)
        if state.number("lower_bound") != curve[-1]:
            raise io.ModelFileError("has a state.lower_bound that is not the last value of "
                                    "state.log_likelihood_curve")
        K, F = int(self.n_components), state.integer("n_features_in", 1)
        return {"weights": ((K,), dtype), "means": ((K, F), dtype),
                "covariances": ((K, F, F), dtype), "cholesky_factors": ((K, F, F), dtype)}

    def _set_state(self, state, arrays):
        """Rebuild the fitted mixture; the arrays are checked first: weights >= 0 summing to
        1, lower-triangular factors with a positive diagonal (diagonal ones for a diagonal
        mixture), and covariances equal to L Lᵀ to rounding."""
        for name in arrays:
            io.check_values(arrays, name, minimum=0 if name == "weights" else None)
        weights, L, covariances = (arrays[k] for k in ("weights", "cholesky_factors",
                                                        "covariances"))
        K, F, _ = L.shape
        eps = np.finfo(L.dtype).eps
        if abs(float(weights.sum(dtype=np.float64)) - 1) > 4 * max(K, 16) * eps:
            raise io.ModelFileError(f"has weights that sum to {weights.sum()}, not 1")
        off = ~np.tri(F, dtype=bool) if state["covariance"] == "full" else ~np.eye(F, dtype=bool)
        if L[:, off].any() or not (np.diagonal(L, axis1=1, axis2=2) > 0).all():
            raise io.ModelFileError(f"has 'cholesky_factors' that are not {state['covariance']} "
                                    "Cholesky factors with a positive diagonal")
        largest = np.diagonal(covariances, axis1=1, axis2=2).max(axis=1)  # (K,)
        residual = np.abs(np.matmul(L, L.swapaxes(1, 2)) - covariances).max(axis=(1, 2))
        if not (residual <= 16 * F * eps * largest).all():
            raise io.ModelFileError("has 'covariances' that are not L Lᵀ of its "
                                    "'cholesky_factors'")
        xp, _ = self._check_params()
        dtype = resolve_dtype(state["dtype"])
        self._set_parameters(state["covariance"], *(
            xp.asarray(arrays[name], dtype=dtype)
            for name in ("weights", "means", "covariances", "cholesky_factors")))
        self.converged_, self.n_iter_ = state["converged"], state["n_iter"]
        self.lower_bound_ = float(state["lower_bound"])
        self.log_likelihood_curve_ = [float(v) for v in state["log_likelihood_curve"]]
