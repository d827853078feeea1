"""GaussianMixture and its conditionals.

EM never lowers the likelihood; a known mixture is recovered; conditionals match brute-force
conditioning of the joint density on a grid and, for one Gaussian, the textbook formulas;
scikit-learn (when installed) finds no better likelihood; AIC/BIC follow their formulas and BIC
picks the true K; bad inputs get clear errors; save/load is exact; the strict host/device
backend gives NumPy's numbers; and on a GPU, CuPy gives them to rounding.
"""

import copy
import os

import numpy as np
import pytest

import mdnlite
from mdnlite import GaussianMixture, ModelFileError, NotFittedError
from mdnlite.backend import to_host
from mdnlite.estimators.initialisation import kmeans, kmeans_plus_plus

from strict_backend import assert_same_results, strict

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[-4.0, 0.0], [4.0, 0.0], [0.0, 5.0]])
COVARIANCES = np.array([[[1.0, 0.5], [0.5, 1.0]],
                        [[0.5, -0.2], [-0.2, 0.8]],
                        [[0.6, 0.0], [0.0, 0.3]]])
DIAGONAL = np.array([[[1.0, 0.0], [0.0, 0.4]],
                     [[0.3, 0.0], [0.0, 0.9]],
                     [[0.6, 0.0], [0.0, 0.3]]])
TRUTH = {"full": COVARIANCES, "diagonal": DIAGONAL}


def draw(n, seed, weights=WEIGHTS, means=MEANS, covariances=COVARIANCES):
    """n samples of a known mixture."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n, p=weights)
    eps = rng.standard_normal((n, means.shape[1]))
    return means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances)[labels], eps)


def curved(n, seed):
    """(x, y) on a noisy curve: a conditional that no single Gaussian describes."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, n)
    return np.column_stack([x, np.sin(1.5 * x) + 0.2 * rng.standard_normal(n)])


def overlapping(n, seed, F):
    """Blobs that overlap, so that EM takes many iterations."""
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((3, F))
    return centres[rng.integers(3, size=n)] + rng.standard_normal((n, F)) @ rng.normal(
        size=(F, F))


def match(fitted_means, true_means):
    """Index of the fitted component nearest to each true mean (each used once)."""
    order = [int(np.argmin(((fitted_means - m) ** 2).sum(axis=1))) for m in true_means]
    assert sorted(order) == list(range(len(true_means))), order
    return order


# --- EM ----------------------------------------------------------------------------------

@pytest.mark.parametrize("covariance", ["full", "diagonal"])
@pytest.mark.parametrize("seed", range(4))
def test_em_never_lowers_the_log_likelihood(covariance, seed):
    # reg_covar=0: exact EM steps (a positive reg_covar moves each update off the EM maximum)
    data = overlapping(400, seed, F=2 + seed % 2)
    gmm = GaussianMixture(3, covariance=covariance, reg_covar=0.0, tol=0.0, max_iter=60,
                          random_state=seed).fit(data)
    curve = np.array(gmm.log_likelihood_curve_)
    assert gmm.n_iter_ >= 10 and len(curve) == gmm.n_iter_ + 1  # enough steps to mean something
    assert np.all(np.diff(curve) >= -1e-10 * np.abs(curve[1:])), np.diff(curve).min()
    assert curve[-1] - curve[0] > 1e-3  # EM did improve on the k-means start
    assert gmm.lower_bound_ == curve[-1]
    assert gmm.score(data) == pytest.approx(gmm.lower_bound_, rel=1e-13)


def test_recovers_a_known_mixture():
    data = draw(5000, seed=0)
    gmm = GaussianMixture(3, n_init=2, random_state=0).fit(data)
    k = match(gmm.means_, MEANS)
    assert gmm.converged_
    # sampling errors with ~1000-2500 points per component: means ~0.03, weights ~0.007,
    # covariance entries ~0.03-0.05; the bounds are about 3 standard errors
    np.testing.assert_allclose(gmm.means_[k], MEANS, atol=0.1)
    np.testing.assert_allclose(gmm.weights_[k], WEIGHTS, atol=0.03)
    np.testing.assert_allclose(gmm.covariances_[k], COVARIANCES, atol=0.15)
    L = gmm.cholesky_factors_
    np.testing.assert_allclose(L @ L.swapaxes(1, 2), gmm.covariances_, rtol=1e-13, atol=1e-15)
    assert np.all(np.triu(L, 1) == 0) and np.all(np.diagonal(L, axis1=1, axis2=2) > 0)
    assert gmm.weights_.sum() == pytest.approx(1.0, abs=1e-14)


def test_recovers_a_diagonal_mixture_in_its_full_shaped_attributes():
    diagonal = DIAGONAL
    data = draw(5000, seed=1, covariances=diagonal)
    gmm = GaussianMixture(3, covariance="diagonal", random_state=0).fit(data)
    k = match(gmm.means_, MEANS)
    np.testing.assert_allclose(gmm.means_[k], MEANS, atol=0.1)
    np.testing.assert_allclose(gmm.weights_[k], WEIGHTS, atol=0.03)
    np.testing.assert_allclose(gmm.covariances_[k], diagonal, atol=0.15)
    off = ~np.eye(2, dtype=bool)
    assert np.all(gmm.covariances_[:, off] == 0) and np.all(gmm.cholesky_factors_[:, off] == 0)
    np.testing.assert_array_equal(gmm.cholesky_factors_ ** 2,
                                  gmm.cholesky_factors_ @ gmm.cholesky_factors_)
    np.testing.assert_allclose(gmm.cholesky_factors_ ** 2, gmm.covariances_, rtol=1e-14)


def test_one_feature_and_one_component():
    rng = np.random.default_rng(2)
    x = rng.normal(3.0, 2.0, size=2000)
    gmm = GaussianMixture(random_state=0, reg_covar=0.0).fit(x)  # (N,) is one feature
    assert gmm.n_features_in_ == 1 and gmm.n_iter_ == 1 and gmm.converged_
    np.testing.assert_allclose(gmm.means_, [[x.mean()]], rtol=1e-12)
    np.testing.assert_allclose(gmm.covariances_, [[[x.var()]]], rtol=1e-12)
    expected = -0.5 * np.log(2 * np.pi * x.var()) - 0.5
    assert gmm.lower_bound_ == pytest.approx(expected, rel=1e-12)


def test_restarts_keep_the_best_run_and_a_seed_repeats_the_fit(capsys):
    data = overlapping(300, 5, F=2)
    one = GaussianMixture(4, random_state=2).fit(data)
    again = GaussianMixture(4, random_state=2).fit(data)
    np.testing.assert_array_equal(one.means_, again.means_)
    assert one.log_likelihood_curve_ == again.log_likelihood_curve_
    capsys.readouterr()
    best = GaussianMixture(4, n_init=6, random_state=2, verbose=1).fit(data)
    runs = [float(line.split()[3]) for line in capsys.readouterr().err.splitlines()]
    assert len(runs) == 6 and runs[0] == pytest.approx(one.lower_bound_, abs=1e-6)
    # on this data the best run is neither the first nor the last
    assert max(runs) > max(runs[0], runs[-1]) + 1e-3
    assert best.lower_bound_ == pytest.approx(max(runs), abs=1e-6)
    assert best.lower_bound_ == pytest.approx(best.score(data), rel=1e-13)


def test_samples_follow_the_mixture():
    gmm = GaussianMixture(3, random_state=0).fit(draw(3000, 0))
    z = gmm.sample(40000, random_state=1)
    assert z.shape == (40000, 2)
    np.testing.assert_array_equal(z, gmm.sample(40000, random_state=1))
    mean = gmm.weights_ @ gmm.means_
    np.testing.assert_allclose(z.mean(axis=0), mean, atol=0.06)  # ~4 standard errors
    spread = gmm.means_ - mean
    covariance = np.einsum("k,kij->ij", gmm.weights_,
                           gmm.covariances_ + spread[:, :, None] * spread[:, None, :])
    np.testing.assert_allclose(np.cov(z.T), covariance, atol=0.25)


def test_kmeans_reaches_a_lloyd_fixed_point():
    # EM needs only a few Lloyd steps for a start; with enough of them k-means settles
    data = overlapping(500, 8, F=2)
    for seed in range(3):
        one_hot = kmeans(data, 4, np.random.default_rng(seed), n_iter=100)
        assert one_hot.shape == (500, 4) and np.all(one_hot.sum(axis=1) == 1)
        labels = one_hot.argmax(axis=1)
        centres = (one_hot.T @ data) / one_hot.sum(axis=0)[:, None]
        nearest = ((data[:, None] - centres) ** 2).sum(axis=2).argmin(axis=1)
        np.testing.assert_array_equal(nearest, labels)  # no point would move again


def test_kmeans_plus_plus_seeds_every_far_cluster():
    data = np.repeat(np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]]),
                     50, axis=0) + np.random.default_rng(0).normal(size=(200, 2))
    for seed in range(5):
        seeds = kmeans_plus_plus(data, 4, np.random.default_rng(seed))
        assert sorted(i // 50 for i in seeds) == [0, 1, 2, 3]


# --- conditioning ------------------------------------------------------------------------

def grid_conditional(gmm, column, value, grid):
    """p(z_other | z_column = value) on ``grid`` by brute force: the joint density along the
    line, normalised by the trapezoid rule. Returns the density and its mean and variance."""
    points = np.empty((len(grid), 2))
    points[:, column], points[:, 1 - column] = value, grid
    joint = np.exp(gmm.score_samples(points))
    density = joint / np.trapezoid(joint, grid)
    mean = np.trapezoid(grid * density, grid)
    return density, mean, np.trapezoid((grid - mean) ** 2 * density, grid)


@pytest.mark.parametrize("covariance", ["full", "diagonal"])
@pytest.mark.parametrize("given", [0, 1], ids=["x->y", "y->x"])
def test_conditional_matches_brute_force_conditioning_on_a_grid(covariance, given):
    gmm = GaussianMixture(4, covariance=covariance, random_state=0).fit(curved(800, 0))
    cond = gmm.condition(inputs=[given])
    assert cond.inputs == (given,) and cond.targets == (1 - given,)
    other = 1 - given
    sd = np.sqrt(gmm.covariances_[:, other, other]).max()
    # the trapezoid rule is spectrally accurate for smooth densities that vanish at the ends
    grid = np.linspace(gmm.means_[:, other].min() - 12 * sd,
                       gmm.means_[:, other].max() + 12 * sd, 6001)
    values = [-1.7, -0.6, 0.0, 0.45, 1.3] if given == 0 else [-0.9, -0.2, 0.3, 0.8]
    for value in values:
        density, mean, variance = grid_conditional(gmm, given, value, grid)
        X = np.full((len(grid), 1), value)
        np.testing.assert_allclose(np.exp(cond.score_samples(X, grid)), density,
                                   rtol=1e-8, atol=1e-12 * density.max())
        # one target column: 1-D results, as for an MDN fitted on a 1-D y
        np.testing.assert_allclose(cond.predict([[value]]), [mean], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(cond.predict_variance([[value]]), [variance], rtol=1e-8)
        np.testing.assert_allclose(cond.predict_covariance([[value]]), [variance], rtol=1e-8)


def textbook(mean, covariance, inputs, targets, X):
    """Conditional of one Gaussian, from the closed form with explicit inverses."""
    inputs, targets = list(inputs), list(targets)
    S_xx = covariance[np.ix_(inputs, inputs)]
    S_yx = covariance[np.ix_(targets, inputs)]
    S_yy = covariance[np.ix_(targets, targets)]
    A = S_yx @ np.linalg.inv(S_xx)
    return mean[targets] + (X - mean[inputs]) @ A.T, S_yy - A @ S_yx.T, A


@pytest.mark.parametrize("inputs, targets", [([2, 0], [1]), ([1], None), ([0, 2], [1])])
def test_conditional_of_one_gaussian_is_the_textbook_formula(inputs, targets):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((500, 3)) @ rng.normal(size=(3, 3)) + [1.0, -2.0, 0.5]
    gmm = GaussianMixture(1).fit(data)
    cond = gmm.condition(inputs, targets)
    targets = cond.targets
    X = rng.normal(size=(7, len(inputs))) * 2
    mean, covariance, A = textbook(gmm.means_[0], gmm.covariances_[0], inputs, targets, X)
    np.testing.assert_allclose(cond.regression_matrices_[0], A, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cond.predict(X), mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cond.predict_mode(X), mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cond.predict_covariance(X), np.broadcast_to(covariance, (7,) +
                               covariance.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cond.predict_variance(X), np.tile(np.diag(covariance), (7, 1)),
                               rtol=1e-10)
    y = mean + rng.normal(size=mean.shape)
    r = y - mean
    expected = -0.5 * (np.einsum("ni,ij,nj->n", r, np.linalg.inv(covariance), r)
                       + np.linalg.slogdet(2 * np.pi * covariance)[1])
    np.testing.assert_allclose(cond.score_samples(X, y), expected, rtol=1e-10)
    mix = cond.predict_mixture(X)
    assert isinstance(mix, mdnlite.MixtureParameters)
    np.testing.assert_array_equal(mix.weights, 1.0)
    L = mix.scales  # Cholesky factors of the conditional covariance
    np.testing.assert_allclose(L @ L.swapaxes(-1, -2), np.broadcast_to(covariance, L.shape),
                               rtol=1e-10, atol=1e-12)


def test_conditional_samples_and_temperatures():
    gmm = GaussianMixture(4, random_state=0).fit(curved(800, 1))
    cond = gmm.condition([0])
    X = np.array([[-1.0], [0.2], [1.5]])
    y = cond.sample(X, n_samples=5, random_state=0)
    assert y.shape == (3, 5)  # one target: no target axis
    np.testing.assert_array_equal(y, cond.sample(X, n_samples=5, random_state=0))
    cold = cond.sample(X, n_samples=2, temperature=0, sigma_temperature=0, random_state=0)
    np.testing.assert_array_equal(cold, np.repeat(cond.predict_approx_mode(X)[:, None], 2, axis=1))
    many = cond.sample(X, n_samples=20000, random_state=1)
    np.testing.assert_allclose(many.mean(axis=1), cond.predict(X), atol=0.02)
    np.testing.assert_allclose(many.var(axis=1), cond.predict_variance(X), rtol=0.06)
    assert cond.score(X, cond.predict(X)) == pytest.approx(
        float(cond.score_samples(X, cond.predict(X)).mean()))


def test_one_target_column_gives_one_dimensional_results_like_an_mdn():
    data = np.c_[curved(400, 2), np.random.default_rng(0).normal(size=400)]  # 3 columns
    gmm = GaussianMixture(2, random_state=0).fit(data)
    X = data[:7, :1]
    # an int; None with one column left
    for cond, X in ((gmm.condition([0], 1), data[:7, :1]), (gmm.condition([0, 2]), data[:7, [0, 2]])):
        assert cond.predict(X).shape == cond.predict_mode(X).shape == (7,)
        assert cond.predict_modes(X).values.shape == (7, 2)
        assert cond.sample(X, 4, random_state=0).shape == (7, 4)
        assert cond.predict_mixture(X).means.shape == (7, 2, 1)  # the mixture keeps its axis
    X = data[:7, :1]
    kept = gmm.condition([0], [1])  # a list of one keeps the target axis, as a[:, [1]] does
    assert kept.predict(X).shape == kept.predict_mode(X).shape == (7, 1)
    np.testing.assert_array_equal(kept.predict_mode(X)[:, 0], gmm.condition([0], 1).predict_mode(X))
    assert gmm.condition([0]).predict(X).shape == (7, 2)  # two targets left


def test_a_conditional_is_a_snapshot():
    data = curved(400, 2)
    gmm = GaussianMixture(3, random_state=0).fit(data)
    cond = gmm.condition([0])
    before = cond.predict(data[:5, :1])
    gmm.set_params(n_components=2).fit(data)
    np.testing.assert_array_equal(cond.predict(data[:5, :1]), before)


# --- scikit-learn as an oracle -------------------------------------------------------------

@pytest.mark.parametrize("covariance, sklearn_type", [("full", "full"), ("diagonal", "diag")])
def test_log_likelihood_at_least_matches_scikit_learn(covariance, sklearn_type):
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    data = np.concatenate([overlapping(1200, 7, F=2), curved(600, 3)])
    ours = GaussianMixture(5, covariance=covariance, n_init=5, random_state=0).fit(data)
    theirs = sklearn_mixture.GaussianMixture(5, covariance_type=sklearn_type, n_init=5,
                                             random_state=0, reg_covar=1e-6, tol=1e-3,
                                             max_iter=100).fit(data)
    assert ours.score(data) >= theirs.score(data) - 0.01, (ours.score(data),
                                                           theirs.score(data))


# --- model choice ------------------------------------------------------------------------

@pytest.mark.parametrize("covariance, per_component", [("full", 2 + 3), ("diagonal", 2 + 2)])
def test_aic_and_bic_follow_their_formulas(covariance, per_component):
    data = draw(600, 3)
    gmm = GaussianMixture(3, covariance=covariance, random_state=0).fit(data)
    p = 2 + 3 * per_component
    assert gmm.n_parameters() == p
    log_lik = gmm.score_samples(data).sum()
    assert gmm.aic(data) == pytest.approx(-2 * log_lik + 2 * p, rel=1e-13)
    assert gmm.bic(data) == pytest.approx(-2 * log_lik + p * np.log(600), rel=1e-13)
    assert gmm.bic(data) - gmm.aic(data) == pytest.approx(p * (np.log(600) - 2), rel=1e-9)


@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_bic_picks_the_true_number_of_components(covariance):
    # clean data for each family: a diagonal model needs more components for correlated ones
    data = draw(1500, 4, covariances=TRUTH[covariance])
    bic = [GaussianMixture(k, covariance=covariance, n_init=3, random_state=0).fit(data)
           .bic(data) for k in range(1, 6)]
    assert int(np.argmin(bic)) + 1 == 3, bic


# --- bad input -----------------------------------------------------------------------------

def test_more_components_than_samples():
    with pytest.raises(ValueError, match="more components than samples: n_components=5 but "
                                         "X has 4 samples"):
        GaussianMixture(5).fit(np.arange(8.0).reshape(4, 2))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused(value):
    data = draw(50, 0)
    data[7, 0] = value
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        GaussianMixture(2).fit(data)
    gmm = GaussianMixture(2, random_state=0).fit(draw(50, 0))
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        gmm.score_samples(data)
    with pytest.raises(ValueError, match="^X contains NaN or infinity"):
        gmm.condition([0]).predict(data[:, :1])


@pytest.mark.parametrize("shape", [(10, 2, 2), ()])
def test_wrong_number_of_dimensions(shape):
    with pytest.raises(ValueError, match="must be 1-D \\(N,\\) or 2-D"):
        GaussianMixture(1).fit(np.ones(shape))


@pytest.mark.parametrize("backend", ["numpy", strict], ids=["numpy", "strict"])
@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_a_singular_covariance_without_regulariser(backend, covariance):
    on = strict.asarray if backend is strict else np.asarray
    rng = np.random.default_rng(0)
    for trial in range(12):
        # three clusters of identical points; their means round to within an ulp of the
        # points, so the covariances come out exactly 0 or a few ulps squared: both singular
        points = rng.normal(size=(3, 2)) * rng.uniform(0.1, 100)
        data = on(np.repeat(points, rng.integers(2, 40), axis=0))
        with pytest.raises(ValueError, match="singular with reg_covar=0.0.*raise reg_covar"):
            GaussianMixture(3, covariance=covariance, reg_covar=0.0, backend=backend,
                            random_state=trial).fit(data)
    collinear = np.column_stack([np.arange(20.0), 2 * np.arange(20.0)])  # rank 1
    if covariance == "full":
        with pytest.raises(ValueError, match="singular.*raise reg_covar"):
            GaussianMixture(1, reg_covar=0.0).fit(collinear)
    gmm = GaussianMixture(3, covariance=covariance, backend=backend, random_state=0).fit(data)
    assert np.isfinite(gmm.lower_bound_)  # the default reg_covar fits the same data


@pytest.mark.parametrize("failure", ["untouched", "nan"])
def test_a_cholesky_that_fails_silently_is_caught(monkeypatch, failure):
    # cuSOLVER through CuPy (default errstate) raises nothing: a failed factor comes back as
    # the input's lower triangle, partly overwritten, or NaN; emulated on the strict backend
    def silent_cholesky(a):
        a = to_host(a)
        try:
            return strict.asarray(np.linalg.cholesky(a))
        except np.linalg.LinAlgError:
            return strict.asarray(np.tril(a) if failure == "untouched" else np.full_like(a,
                                                                                     np.nan))

    monkeypatch.setattr(strict.linalg, "cholesky", silent_cholesky)
    collinear = strict.asarray(np.column_stack([np.arange(20.0), 2 * np.arange(20.0)]))
    with pytest.raises(ValueError, match="singular.*raise reg_covar"):
        GaussianMixture(1, reg_covar=0.0, backend=strict).fit(collinear)
    gmm = GaussianMixture(1, backend=strict).fit(collinear)  # with reg_covar it factors
    assert np.isfinite(gmm.lower_bound_)


BAD_PARAMS = [
    (dict(n_components=0), ValueError, "n_components must be an integer >= 1"),
    (dict(n_components=2.5), TypeError, "n_components must be an integer"),
    (dict(covariance="spherical"), ValueError, "covariance must be 'full' or 'diagonal'"),
    (dict(reg_covar=-1e-3), ValueError, "reg_covar must be a finite number >= 0"),
    (dict(reg_covar=np.inf), ValueError, "reg_covar must be a finite number >= 0"),
    (dict(reg_covar="big"), TypeError, "reg_covar must be a number"),
    (dict(n_init=0), ValueError, "n_init must be an integer >= 1"),
    (dict(max_iter=0), ValueError, "max_iter must be an integer >= 1"),
    (dict(tol=-1.0), ValueError, "tol must be a finite number >= 0"),
    (dict(tol=float("nan")), ValueError, "tol must be a finite number >= 0"),
    (dict(random_state=-1), ValueError, "random_state must be an integer >= 0"),
    (dict(random_state=True), TypeError, "random_state must be None"),
    (dict(verbose=-1), ValueError, "verbose must be an integer >= 0"),
    (dict(dtype="float16"), TypeError, "dtype must be float32 or float64"),
    (dict(backend="torch"), ValueError, "backend must be"),
]


@pytest.mark.parametrize("params, error, match", BAD_PARAMS,
                         ids=[next(iter(p)) + "=" + repr(v) for p, _, _ in BAD_PARAMS
                              for v in p.values()])
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        GaussianMixture(**{"n_components": 2, **params}).fit(draw(30, 0))


def test_unknown_parameters_in_set_params():
    with pytest.raises(ValueError, match="'n_comp' is not a parameter of GaussianMixture"):
        GaussianMixture().set_params(n_comp=3)


@pytest.mark.parametrize("method, args", [
    ("score_samples", (np.ones((3, 2)),)), ("score", (np.ones((3, 2)),)),
    ("aic", (np.ones((3, 2)),)), ("bic", (np.ones((3, 2)),)), ("sample", (3,)),
    ("condition", ([0],)), ("n_parameters", ()), ("save", ("model.npz",))])
def test_methods_before_fit(method, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFittedError, match="GaussianMixture is not fitted yet"):
        getattr(GaussianMixture(), method)(*args)
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(2, random_state=0).fit(draw(200, 0))  # F = 2


def test_wrong_number_of_features(fitted):
    with pytest.raises(ValueError, match="^X has 3 features, but GaussianMixture is "
                                         "expecting 2 features as input"):
        fitted.score(np.ones((4, 3)))
    cond = fitted.condition([1])
    with pytest.raises(ValueError, match="^X has 2 features, but ConditionalGaussianMixture "
                                         "is expecting 1 features as input"):
        cond.predict(np.ones((4, 2)))
    with pytest.raises(ValueError, match="^y has 2 target dimensions, but "
                                         "ConditionalGaussianMixture is expecting 1"):
        cond.score_samples(np.ones((4, 1)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="same number of samples"):
        cond.score_samples(np.ones((4, 1)), np.ones(3))


@pytest.mark.parametrize("inputs, targets, error, match", [
    ([2], None, ValueError, r"inputs must be column numbers in \[0, 2\), got \[2\]"),
    ([-1], None, ValueError, r"inputs must be column numbers in \[0, 2\)"),
    ([0, 0], [1], ValueError, "inputs names a column twice"),
    ([0, 1], None, ValueError, "inputs name all 2 columns: nothing is left to predict"),
    ([0], [0], ValueError, r"columns \[0\] are in both inputs and targets"),
    ([], None, ValueError, "inputs must name at least one column"),
    ([0], [], ValueError, "targets must name at least one column"),
    ([0.5], None, TypeError, "inputs must hold integer column numbers"),
    ("0", None, TypeError, "inputs must hold integer column numbers"),
    (True, None, TypeError, "inputs must be a column number or a list of them"),
])
def test_bad_columns_to_condition_on(fitted, inputs, targets, error, match):
    with pytest.raises(error, match=match):
        fitted.condition(inputs, targets)


def test_columns_may_be_an_int_or_an_array(fitted):
    a, b = fitted.condition(1), fitted.condition(np.array([1]), targets=(0,))
    assert (a.inputs, a.targets) == (b.inputs, b.targets) == ((1,), (0,))


def test_a_refused_fit_leaves_a_fitted_model_unchanged(fitted):
    means = fitted.means_.copy()
    for bad in (dict(n_components=500), dict(reg_covar=-1.0)):
        model = copy.deepcopy(fitted)  # the shared model, copied: the test tries to change it
        with pytest.raises(ValueError):
            model.set_params(**bad).fit(draw(200, 0))
        np.testing.assert_array_equal(model.means_, means)
    model = copy.deepcopy(fitted)
    with pytest.raises(ValueError, match="singular"):
        model.set_params(n_components=3, reg_covar=0.0).fit(np.repeat(draw(3, 1), 5, axis=0))
    np.testing.assert_array_equal(model.means_, means)


# --- persistence ---------------------------------------------------------------------------

def assert_same(a, b, data):
    assert a.get_params() == b.get_params()
    for name in ("weights_", "means_", "covariances_", "cholesky_factors_"):
        u, v = getattr(a, name), getattr(b, name)
        assert u.dtype == v.dtype, name
        np.testing.assert_array_equal(u, v, err_msg=name)
    assert (a.converged_, a.n_iter_, a.lower_bound_, a.log_likelihood_curve_) == (
        b.converged_, b.n_iter_, b.lower_bound_, b.log_likelihood_curve_)
    assert type(b.lower_bound_) is float and type(b.converged_) is bool
    np.testing.assert_array_equal(a.score_samples(data), b.score_samples(data))
    np.testing.assert_array_equal(a.sample(5, random_state=0), b.sample(5, random_state=0))
    ca, cb = a.condition([1]), b.condition([1])
    for method in ("predict", "predict_variance", "predict_mode"):
        np.testing.assert_array_equal(getattr(ca, method)(data[:, 1:]),
                                      getattr(cb, method)(data[:, 1:]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_save_and_load_round_trip_exactly(tmp_path, covariance, dtype):
    data = draw(300, 5)
    gmm = GaussianMixture(3, covariance=covariance, dtype=dtype, n_init=2,
                          random_state=0).fit(data)
    path = tmp_path / "gmm.npz"
    assert gmm.save(path) == str(path)
    assert os.listdir(tmp_path) == ["gmm.npz"]  # no temporary left behind
    loaded = mdnlite.load(path)
    assert type(loaded) is GaussianMixture
    assert loaded.means_.dtype == np.dtype(dtype)
    assert_same(gmm, loaded, data)


def test_changing_parameters_after_fit_changes_nothing_until_a_refit(tmp_path):
    data = draw(300, 5)
    gmm = GaussianMixture(3, random_state=0).fit(data)
    before, p = gmm.score_samples(data), gmm.n_parameters()
    gmm.set_params(covariance="diagonal", n_components=2)
    np.testing.assert_array_equal(gmm.score_samples(data), before)
    assert gmm.n_parameters() == p == 17
    gmm.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(mdnlite.load(tmp_path / "m.npz").score_samples(data), before)


def test_broken_and_modified_files(tmp_path):
    path = tmp_path / "gmm.npz"
    GaussianMixture(2, random_state=0).fit(draw(100, 0)).save(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    assert {"weights", "means", "covariances", "cholesky_factors", "meta", "digest"} == set(
        arrays)
    arrays["means"] = arrays["means"].copy()
    arrays["means"][0, 0] = np.nextafter(arrays["means"][0, 0], np.inf)  # one ulp
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ModelFileError, match="checksum does not match"):
        mdnlite.load(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ModelFileError, match="not a readable mdnlite model file"):
        mdnlite.load(path)
    with pytest.raises(ModelFileError, match="no model file"):
        mdnlite.load(tmp_path / "missing.npz")


# --- the strict host/device backend --------------------------------------------------------

def _every_method(xp, covariance, tmp_path):
    """Call every public method of GaussianMixture and its conditional on ``xp``."""
    data = curved(300, 6)
    on = strict.asarray if xp is strict else np.asarray
    gmm = GaussianMixture(3, covariance=covariance, n_init=2, random_state=0, backend=xp)
    gmm.fit(on(data))
    out = {name: getattr(gmm, name) for name in ("weights_", "means_", "covariances_",
                                                  "cholesky_factors_", "lower_bound_",
                                                  "log_likelihood_curve_", "n_iter_")}
    out["score_samples"] = gmm.score_samples(on(data))
    out["score"], out["aic"], out["bic"] = gmm.score(on(data)), gmm.aic(on(data)), gmm.bic(
        on(data))
    out["sample"] = gmm.sample(4, random_state=1)
    X, y = on(data[:20, :1]), on(data[:20, 1:])
    for inputs in ([0], [1]):
        cond = gmm.condition(inputs)
        given = X if inputs == [0] else y
        for method in ("predict", "predict_variance", "predict_covariance", "predict_mode",
                       "predict_mixture"):
            out[f"{method}-{inputs}"] = getattr(cond, method)(given)
        out[f"sample-{inputs}"] = cond.sample(given, n_samples=3, temperature=0.5,
                                              random_state=2)
        out[f"score_samples-{inputs}"] = cond.score_samples(given, y if inputs == [0] else X)
        out[f"score-{inputs}"] = cond.score(given, y if inputs == [0] else X)
    path = gmm.save(tmp_path / f"gmm-{xp.__name__}.npz")
    out["loaded"] = mdnlite.load(path, backend=xp).score_samples(on(data))
    out["loaded_on_host"] = mdnlite.load(path).score_samples(data)
    out["host_data"] = gmm.score_samples(data)  # host data is moved explicitly
    return out


HOST_RESULTS = {"lower_bound_", "log_likelihood_curve_", "n_iter_", "score", "aic", "bic",
                "score-[0]", "score-[1]", "loaded_on_host"}


@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_strict_backend_matches_numpy(tmp_path, covariance):
    on_device = _every_method(strict, covariance, tmp_path)
    on_host = _every_method(np, covariance, tmp_path)
    assert_same_results(on_device, on_host, HOST_RESULTS)


# --- CuPy on a real device -----------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("covariance", ["full", "diagonal"])
def test_cupy_matches_numpy(covariance):
    cp = mdnlite.get_xp("cupy")
    data = np.concatenate([draw(2000, 0), draw(500, 1) + 1.0])
    host = GaussianMixture(4, covariance=covariance, n_init=2, random_state=0).fit(data)
    device = GaussianMixture(4, covariance=covariance, n_init=2, random_state=0,
                             backend="cupy").fit(cp.asarray(data))
    assert isinstance(device.means_, cp.ndarray)
    assert device.n_iter_ == host.n_iter_
    np.testing.assert_allclose(device.log_likelihood_curve_, host.log_likelihood_curve_,
                               rtol=1e-10)
    for name in ("weights_", "means_", "covariances_", "cholesky_factors_"):
        np.testing.assert_allclose(to_host(getattr(device, name)), getattr(host, name),
                                   rtol=1e-8, atol=1e-10, err_msg=name)
    X = data[:50, :1]
    np.testing.assert_allclose(to_host(device.condition([0]).predict(cp.asarray(X))),
                               host.condition([0]).predict(X), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(to_host(device.condition([0]).sample(X, 3, random_state=0)),
                               host.condition([0]).sample(X, 3, random_state=0), rtol=1e-8,
                               atol=1e-10)
    duplicated = cp.asarray(np.repeat(data[:3], 10, axis=0))
    with pytest.raises(ValueError, match="singular.*raise reg_covar"):
        GaussianMixture(3, covariance=covariance, reg_covar=0.0, backend="cupy",
                        random_state=0).fit(duplicated)
