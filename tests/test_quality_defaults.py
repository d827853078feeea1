"""What makes the defaults good on a user's own data: standardisation with the log-Jacobian,
the data-size-aware budget and schedule, the k-means output initialisation, noise and weight
decay that shrink with N. (How good the models are is measured by benchmarks/quality.py.)"""

import math

import numpy as np
import pytest

import mdnlite
from mdnlite import mixture
from mdnlite.estimators import defaults
from mdnlite.estimators.initialisation import inverse_scale_activation, kmeans, mdninit
from mdnlite.estimators.scaling import Standardizer
from mdnlite.heads.mixture import SCALE_ACTIVATIONS, MixtureHead
from mdnlite.nn.layers import Dense
from strict_backend import assert_same_results, strict

NO_REG = dict(input_noise=0.0, target_noise=0.0, weight_decay=0.0,
              learning_rate_schedule="constant")
SMALL = dict(hidden_sizes=(8,), max_epochs=4, batch_size=32, random_state=0)


# --- standardisation ---------------------------------------------------------------------

@pytest.mark.parametrize("covariance", ["isotropic", "diagonal", "full"])
def test_score_is_the_standardised_score_less_the_log_jacobian(covariance, sine_data):
    X, y = sine_data(150, d=2)
    X, y = 40 + 30 * X, -5e3 + 1e3 * y  # far from standard units
    model = mdnlite.MDN(3, covariance=covariance, dtype="float64", **SMALL).fit(X, y)
    s = model.standardizer_
    np.testing.assert_allclose(s.x_mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.y_scale, y.std(axis=0), rtol=1e-12)
    X_std, y_std = (X - s.x_mean) / s.x_scale, (y - s.y_mean) / s.y_scale
    by_hand = mixture.log_prob(y_std, *model.loss_.mixture(model.network_.forward(X_std)))
    by_hand -= np.log(s.y_scale).sum()
    np.testing.assert_allclose(model.score_samples(X, y), by_hand, rtol=1e-6, atol=1e-9)
    # and the same through the mixture in user units that predict_mixture describes
    np.testing.assert_allclose(mixture.log_prob(y, *model._mixture(model._inputs(X))),
                               by_hand, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("covariance", ["isotropic", "diagonal", "full"])
def test_predict_mixture_is_in_user_units(covariance, sine_data):
    X, y = sine_data(100, d=2)
    y = 7.0 + np.array([100.0, 0.01]) * y
    model = mdnlite.MDN(2, covariance=covariance, dtype="float64", **SMALL).fit(X, y)
    s = model.standardizer_
    w, mu, scales = model.predict_mixture(X[:5])
    log_w, mu_std, sc_std = model.loss_.mixture(model.network_.forward((X[:5] - s.x_mean)
                                                                       / s.x_scale))
    np.testing.assert_allclose(w, np.exp(log_w), rtol=1e-12)
    np.testing.assert_allclose(mu, mu_std * s.y_scale + s.y_mean, rtol=1e-12)
    if covariance == "full":
        expected = s.y_scale[:, None] * sc_std  # diag(s) L
    else:
        expected = np.broadcast_to(sc_std * s.y_scale, mu.shape)
    np.testing.assert_allclose(scales, expected, rtol=1e-12)
    # the conditional moments follow: variance scales by s², the mean shifts and scales
    np.testing.assert_allclose(model.predict(X[:5]), (w[:, :, None] * mu).sum(axis=1),
                               rtol=1e-10)


@pytest.mark.parametrize("a", [1e6, 1e-6])
def test_the_units_of_the_data_change_the_nll_by_the_log_jacobian_only(a, sine_data):
    X, y = sine_data(120)
    X_test, y_test = sine_data(300, seed=1)
    kw = dict(dtype="float64", **SMALL)
    base = mdnlite.MDN(3, **kw).fit(X, y)
    moved = mdnlite.MDN(3, **kw).fit(a * (X + 100), a * (y + 100))
    nll = -base.score(X_test, y_test)
    moved_nll = -moved.score(a * (X_test + 100), a * (y_test + 100))
    assert moved_nll == pytest.approx(nll + math.log(a), abs=1e-6)
    np.testing.assert_allclose(moved.predict(a * (X_test + 100)),
                               a * (base.predict(X_test) + 100), rtol=1e-6)


def test_without_standardisation_the_units_matter(sine_data):
    X, y = sine_data(120)
    model = mdnlite.MDN(2, standardize=False, dtype="float64", **SMALL).fit(X, 1e3 * y)
    s = model.standardizer_
    assert (s.x_mean == 0).all() and (s.y_scale == 1).all() and s.log_jacobian == 0.0


def test_the_statistics_are_kept_by_save_load_warm_start_and_partial_fit(tmp_path, sine_data):
    X, y = sine_data(120)
    model = mdnlite.MDN(2, warm_start=True, **SMALL).fit(X, 10 * y)
    stats = {k: v.copy() for k, v in model.standardizer_.state().items()}
    loaded = mdnlite.load(model.save(tmp_path / "m.npz"))
    for k, v in loaded.standardizer_.state().items():
        np.testing.assert_array_equal(v, stats[k])
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.score(X, 10 * y) == model.score(X, 10 * y)
    for again in (model.fit, model.partial_fit, loaded.partial_fit):
        again(X + 5, 100 * y)  # other data: the statistics stay those of the first fit
    for m in (model, loaded):
        for k, v in m.standardizer_.state().items():
            np.testing.assert_array_equal(v, stats[k])


def test_the_regressor_standardises_too(sine_data):
    X, y = sine_data(200)
    r = mdnlite.Regressor(**SMALL).fit(X, 1e4 * y + 3e5)
    s = r.standardizer_
    assert s.y_mean[0] == pytest.approx(1e4 * y.mean() + 3e5)
    residual = r.predict(X) - (1e4 * y + 3e5)
    np.testing.assert_allclose(r.noise_variance_, (residual.astype(np.float64) ** 2).mean(0),
                               rtol=1e-4)
    w, mu, sigma = r.predict_mixture(X[:3])
    np.testing.assert_allclose(sigma[:, 0] ** 2, np.broadcast_to(r.noise_variance_, (3, 1)),
                               rtol=1e-5)


def test_a_constant_column_is_only_centred():
    X = np.column_stack([np.full(50, 3.0), np.linspace(0, 1, 50)])
    s = Standardizer.fit(X, np.full((50, 1), -2.0))
    np.testing.assert_array_equal(s.x_scale[0], 1.0)
    np.testing.assert_array_equal(s.y_scale, [1.0])
    np.testing.assert_array_equal(s.y_mean, [-2.0])


def test_values_that_overflow_once_standardised_are_refused(sine_data):
    X, y = sine_data(50)
    model = mdnlite.MDN(2, **SMALL).fit(X, y)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="^X has values too large"):
        model.predict(np.full((2, 2), 1e300))


# --- budget, schedule, regularisation ----------------------------------------------------

def test_auto_budget_is_a_number_of_steps(monkeypatch, sine_data):
    assert defaults.auto_epochs(300, 256) == 5000  # 2 steps an epoch
    assert defaults.auto_epochs(10_000, 256) == 250  # 40 steps an epoch
    assert defaults.auto_epochs(10**7, 256) == 1
    monkeypatch.setattr("mdnlite.estimators.defaults.AUTO_STEPS", 40)
    X, y = sine_data(100)
    model = mdnlite.MDN(2, hidden_sizes=(4,), batch_size=32, early_stopping=False,
                        random_state=0).fit(X, y)
    assert model.n_epochs_ == 10 and model.optimizer_.iterations == 40
    # rows held out for early stopping are not trained on: 90 rows, 3 steps an epoch
    held = mdnlite.MDN(2, hidden_sizes=(4,), batch_size=32, early_stopping=True,
                       random_state=0).fit(X, y)
    assert held.n_epochs_ <= 14 and held.optimizer_.iterations == 3 * held.n_epochs_


def test_cosine_schedule_and_a_callback_that_lowers_the_rate(sine_data):
    X, y = sine_data(64)
    model = mdnlite.MDN(2, hidden_sizes=(4,), max_epochs=6, batch_size=64, learning_rate=0.01,
                        random_state=0).fit(X, y)
    expected = [0.01 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * e / 6))) for e in range(6)]
    np.testing.assert_allclose(model.learning_rate_curve_, expected, rtol=1e-12)
    halve = mdnlite.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e3)
    model = mdnlite.MDN(2, hidden_sizes=(4,), max_epochs=6, batch_size=64, learning_rate=0.01,
                        random_state=0).fit(X, y, callbacks=[halve])
    # epoch 0 sets the best loss; from the end of epoch 1 on, each epoch halves the rest of
    # the schedule
    np.testing.assert_allclose(model.learning_rate_curve_,
                               [r * 0.5**max(e - 1, 0) for e, r in enumerate(expected)],
                               rtol=1e-12)


def test_noise_and_weight_decay_follow_the_data_size(sine_data):
    X, y = sine_data(300)
    model = mdnlite.MDN(2, early_stopping=False, **SMALL).fit(X, y)
    # the inputs' noise follows their number of columns (2 here), the targets' that of one
    assert model.noise_ == (defaults.auto_noise(300, 2), defaults.auto_noise(300))
    assert defaults.auto_noise(300) == pytest.approx(1.4 / math.sqrt(300))
    assert defaults.auto_noise(300, 2) == pytest.approx(2 * 1.4 / math.sqrt(300))
    assert defaults.auto_noise(1) == 1.0  # capped
    assert model.optimizer_.weight_decay == pytest.approx(3 / 300)
    split = mdnlite.MDN(2, **SMALL).fit(X, y, validation_split=0.25)  # N counts training rows
    assert split.optimizer_.weight_decay == pytest.approx(3 / 225)
    held = mdnlite.MDN(2, **SMALL).fit(X, y)  # early stopping holds 30 rows out
    assert held.optimizer_.weight_decay == pytest.approx(3 / 270)
    fixed = mdnlite.MDN(2, input_noise=0.5, target_noise=0.0, weight_decay=0.1, **SMALL)
    fixed.fit(X, y)
    assert fixed.noise_ == (0.5, 0.0) and fixed.optimizer_.weight_decay == 0.1
    assert mdnlite.Regressor(**SMALL).fit(X, y).noise_ == (0.0, 0.0)


def test_noise_changes_training_but_never_predictions(sine_data):
    X, y = sine_data(100)
    noisy = mdnlite.MDN(2, input_noise=0.3, target_noise=0.3, **SMALL).fit(X, y)
    clean = mdnlite.MDN(2, **dict(SMALL, **NO_REG)).fit(X, y)
    assert not np.array_equal(noisy.get_weights(), clean.get_weights())
    np.testing.assert_array_equal(noisy.predict(X), noisy.predict(X))
    assert noisy.score(X, y) == noisy.score(X, y)
    # the validation loss is measured on clean data: it equals the score
    held = mdnlite.MDN(2, input_noise=0.3, target_noise=0.3, **SMALL)
    held.fit(X, y, validation_data=(X[:30], y[:30]))
    assert held.validation_loss_curve_[-1] == pytest.approx(-held.score(X[:30], y[:30]),
                                                            rel=1e-5)


def test_weight_decay_flushes_subnormal_weights():
    opt = mdnlite.Adam(weight_decay=1e-2)
    p = np.ones(4, dtype=np.float32)
    opt.step([p], [np.zeros(4, dtype=np.float32)])
    p[...] = [1e-40, -1e-39, 1.0, 0.0]
    opt.state["v"][0][...] = [1e-44, 2.0, 0.0, 1e-39]
    opt.flush_subnormals([p])
    assert p[0] == 0 and p[1] == 0 and p[2] != 0
    assert all(np.all((np.abs(a) >= np.finfo(np.float32).tiny) | (a == 0))
               for a in opt.state["v"] + opt.state["m"])


@pytest.mark.parametrize("name, value, error", [
    ("standardize", "yes", TypeError),
    ("input_noise", -0.1, ValueError),
    ("target_noise", float("inf"), ValueError),
    ("input_noise", "more", TypeError),
    ("weight_decay", "much", TypeError),
    ("learning_rate_schedule", "linear", ValueError),
    ("max_epochs", "forever", TypeError),
    ("init", "zeros", ValueError),
])
def test_bad_new_hyperparameters_are_refused(name, value, error, sine_data):
    X, y = sine_data(20)
    with pytest.raises(error, match=name):
        mdnlite.MDN(2, **dict(SMALL, **{name: value})).fit(X, y)


# --- k-means initialisation (mdninit) ----------------------------------------------------

@pytest.mark.parametrize("covariance", ["isotropic", "diagonal", "full"])
@pytest.mark.parametrize("scale_activation", ["softplus", "exp", "elu1"])
def test_mdninit_starts_the_mixture_on_the_kmeans_clusters(covariance, scale_activation):
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, -1.0]])
    y = np.repeat(centres, 40, axis=0) + 0.2 * rng.standard_normal((120, 2))
    head = MixtureHead(3, 2, covariance, scale_activation, min_scale=1e-3)
    layer = Dense(5, head.n_outputs, rng=np.random.default_rng(1), xp=np, dtype=np.float64)
    W0 = layer.params[0].copy()
    mdninit(head, layer, y, np.random.default_rng(2))
    expected = kmeans(y, 3, np.random.default_rng(2))  # the same draws: the same clusters
    found = expected.T @ y / expected.sum(axis=0)[:, None]
    parts = head.split(layer.params[1][None, :])
    np.testing.assert_allclose(parts.means[0], found, rtol=1e-12)
    np.testing.assert_array_equal(parts.logits, 0.0)  # equal weights
    np.testing.assert_allclose(layer.params[0], 0.1 * W0)
    # the initial mixture's scales are the clusters' spreads (about 0.2)
    log_w, means, scales = head.mixture(np.zeros((1, 5)) @ layer.params[0] + layer.params[1])
    sigma = np.diagonal(scales, axis1=-2, axis2=-1) if covariance == "full" else scales
    np.testing.assert_allclose(sigma, 0.2, rtol=0.3)
    np.testing.assert_allclose(np.exp(log_w), 1 / 3)


@pytest.mark.parametrize("name", ["softplus", "exp", "elu1"])
def test_inverse_scale_activation(name):
    sigma = np.array([1e-3, 0.2, 1.0, 3.0, 50.0])
    s = inverse_scale_activation(name, sigma)
    np.testing.assert_allclose(SCALE_ACTIVATIONS[name].forward(s), sigma, rtol=1e-12)


def test_mdninit_with_fewer_targets_than_components():
    head = MixtureHead(5, 1, "diagonal", "softplus")
    layer = Dense(3, head.n_outputs, rng=np.random.default_rng(1), xp=np, dtype=np.float64)
    mdninit(head, layer, np.array([[0.0], [1.0]]), np.random.default_rng(0))
    means = head.split(layer.params[1][None, :]).means[0, :, 0]
    assert set(np.round(means, 12)) == {0.0, 1.0}


def test_random_init_leaves_the_output_layer_alone(sine_data):
    X, y = sine_data(50)
    a = mdnlite.MDN(2, init="random", **dict(SMALL, max_epochs=1, learning_rate=1e-12)).fit(X, y)
    assert np.all(a.network_.layers[-1].params[1] == pytest.approx(0, abs=1e-6))


# --- the strict device stand-in ----------------------------------------------------------

def _fit_in_units(xp, sine_data):
    X, y = sine_data(80, d=2)
    X, y = 50 + 20 * X, 1e4 * y
    dev = strict.asarray if xp is strict else np.asarray
    model = mdnlite.MDN(3, covariance="full", backend=xp, **SMALL).fit(dev(X), dev(y))
    return {"predict": model.predict(dev(X)), "score_samples": model.score_samples(dev(X),
                                                                                  dev(y)),
            "mixture": model.predict_mixture(dev(X)), "weights": model.get_weights()}


def test_standardised_fits_on_the_strict_backend_match_numpy(sine_data):
    assert_same_results(_fit_in_units(strict, sine_data), _fit_in_units(np, sine_data), {"mixture"})
