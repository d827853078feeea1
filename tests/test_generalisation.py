"""Defaults that generalise: ensembles of networks, early stopping on held-out rows, input noise
that follows the number of inputs, and the warning for a model worse than one Gaussian on data
it did not train on. (How well they generalise is measured by benchmarks/tabular.py.)"""

import copy
import math
import pickle
import warnings

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, OverfittingWarning, Regressor, mixture
from mdnlite.estimators import defaults
from mdnlite.estimators.predictions import dead_components
from mdnlite.heads.ensemble import EnsembleHead
from mdnlite.heads.mixture import MixtureHead
from mdnlite.nn.network import Parallel, mlp
from strict_backend import strict


def table(n=300, d=4, seed=0):
    """A table of d inputs, the target depending on the first two."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X[:, 0] + np.sin(2 * X[:, 1]) + 0.3 * rng.normal(size=n)


# --- the members side by side ---------------------------------------------------------------------

def members(n=3, sizes=(3, 6, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [mlp(sizes, "tanh", rng=rng, dtype=np.float64) for _ in range(n)]


def test_parallel_members_share_one_buffer_and_run_on_their_own():
    alone = members()
    together = Parallel(copy.deepcopy(alone))
    assert together.n_params == sum(m.n_params for m in alone)
    np.testing.assert_array_equal(together.flat_params,
                                  np.concatenate([m.flat_params for m in alone]))
    x = np.random.default_rng(1).normal(size=(5, 3))
    for a, b in zip(alone, together.forward(x, transpose=True)):
        np.testing.assert_array_equal(a.forward(x, transpose=True), b)
    dys = [np.random.default_rng(i).normal(size=(5, 4)) for i in range(3)]
    together.backward(dys)
    for a, dy, part in zip(alone, dys, np.split(together.flat_grads, 3)):
        a.backward(dy)
        np.testing.assert_array_equal(a.flat_grads, part)
    together.flat_params[:] = 0.5  # one update reaches every member's layers
    assert all((layer.params[0] == 0.5).all() for m in together.members for layer in m.layers
               if layer.params)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda n: pickle.loads(pickle.dumps(n))])
def test_a_copied_parallel_network_owns_its_buffer(duplicate):
    net = Parallel(members())
    other = duplicate(net)
    other.flat_params[:] = 7.0
    assert all((m.flat_params == 7.0).all() for m in other.members)
    assert all((layer.params[0] == 7.0).all() for m in other.members for layer in m.layers
               if layer.params)
    assert not (net.flat_params == 7.0).any()


def test_ensemble_head_scores_the_average_density_and_trains_each_member_on_its_own():
    head = MixtureHead(3, 2)
    ensemble = EnsembleHead(head, 2)
    rng = np.random.default_rng(0)
    zs = [rng.normal(size=(6, head.n_outputs)) for _ in range(2)]
    y = rng.normal(size=(6, 2))
    loss, caches = ensemble.nll_forward(zs, y)
    # the loss is that of the averaged mixture, M K components with weights π / M
    m = ensemble.mixture(zs)
    assert m.log_weights.shape == (6, 6)
    np.testing.assert_allclose(np.exp(m.log_weights).sum(axis=1), 1.0)
    np.testing.assert_allclose(loss, -mixture.log_prob(y, *m).mean(), rtol=1e-12)
    p = [np.exp(mixture.log_prob(y, *head.mixture(z))) for z in zs]
    np.testing.assert_allclose(loss, -np.log((p[0] + p[1]) / 2).mean(), rtol=1e-12)
    # the gradient reaching each member is that of its own NLL
    for z, dz in zip(zs, ensemble.nll_backward(caches)):
        np.testing.assert_array_equal(dz, head.nll_backward(head.nll_forward(z, y)[1]))


# --- MDN(n_members=M) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ensemble_fit(tiny):
    X, y = table()
    return X, y, MDN(3, n_members=2, **tiny).fit(X, y)


def test_an_ensemble_predicts_the_average_of_its_members(ensemble_fit, tiny):
    X, y, mdn = ensemble_fit
    assert isinstance(mdn.network_, Parallel) and len(mdn.network_.members) == 2
    w, mu, s = mdn.predict_mixture(X[:5])
    assert w.shape == (5, 6) and mu.shape == (5, 6, 1)
    # each member alone, as a one-network MDN with its weights
    single = MDN(3, n_members=1, **tiny).fit(X, y)
    densities = []
    for part in np.split(mdn.get_weights(), 2):
        single.set_weights(part)
        densities.append(np.exp(single.score_samples(X[:50], y[:50])))
    np.testing.assert_allclose(mdn.score_samples(X[:50], y[:50]),
                               np.log((densities[0] + densities[1]) / 2), rtol=1e-5,
                               atol=1e-6)
    assert mdn.predict_modes(X[:5]).values.shape == (5, 6)
    assert mdn.predict_quantiles(X[:5], [0.1, 0.9]).shape == (5, 2)


def test_the_members_start_apart(ensemble_fit):
    _, _, mdn = ensemble_fit
    a, b = np.split(mdn.get_weights(), 2)
    assert not np.allclose(a, b)


def test_an_ensemble_saves_loads_and_trains_on(ensemble_fit, tmp_path):
    X, y, mdn = ensemble_fit
    path = tmp_path / "ensemble.npz"
    mdn.save(path)
    same = mdnlite.load(path)
    assert same.n_members == 2 and isinstance(same.network_, Parallel)
    np.testing.assert_array_equal(same.score_samples(X, y), mdn.score_samples(X, y))
    same.partial_fit(X, y)
    again = pickle.loads(pickle.dumps(same))
    np.testing.assert_array_equal(again.score_samples(X, y), same.score_samples(X, y))


def test_an_ensemble_on_the_strict_backend_matches_numpy(tiny):
    X, y = table(120)
    host = MDN(2, n_members=2, **tiny).fit(X, y)
    device = MDN(2, n_members=2, backend=strict, **tiny).fit(strict.asarray(X),
                                                               strict.asarray(y))
    np.testing.assert_allclose(strict.asnumpy(device.score_samples(X, y)),
                               host.score_samples(X, y), rtol=1e-4, atol=1e-5)


def test_n_members_is_checked(tiny):
    X, y = table(50)
    for bad, error in ((0, ValueError), (2.5, TypeError), ("5", TypeError)):
        with pytest.raises(error, match="n_members"):
            MDN(n_members=bad, **tiny).fit(X, y)


# --- early stopping -------------------------------------------------------------------------------

def test_auto_early_stopping_holds_rows_out_with_several_inputs_only():
    assert defaults.auto_early_stopping(2, 10) and not defaults.auto_early_stopping(1, 1000)
    assert not defaults.auto_early_stopping(5, 9)
    X, y = table(200)
    several = MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=40, random_state=0,
                  verbose=0).fit(X, y)
    assert len(several.validation_loss_curve_) == several.n_epochs_  # scored every epoch
    assert several.best_epoch_ == int(np.argmin(several.validation_loss_curve_))
    one = MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=40, random_state=0,
              verbose=0).fit(X[:, 0], y)
    assert one.best_epoch_ is None and one.validation_loss_curve_ == []


def test_early_stopping_keeps_the_best_epochs_weights_and_stops():
    X, y = table(260, d=6)
    # a large network on a few rows without noise overfits quickly
    mdn = MDN(5, n_members=1, hidden_sizes=(64, 64), max_epochs=3000, input_noise=0.0,
              target_noise=0.0, weight_decay=0.0, random_state=0, verbose=0)
    mdn.fit(X[:200], y[:200], validation_data=(X[200:], y[200:]))
    curve = mdn.validation_loss_curve_
    assert mdn.n_epochs_ < 3000  # it stopped, after the patience in epochs and in steps
    waited = mdn.n_epochs_ - 1 - mdn.best_epoch_
    assert waited >= 10 and waited * 1 >= defaults.PATIENCE_STEPS  # one step an epoch
    assert curve[mdn.best_epoch_] == min(curve) < curve[-1]
    # the model kept is the best epoch's: it scores the held-out rows as recorded then
    assert -mdn.score(X[200:], y[200:]) == pytest.approx(min(curve), rel=1e-5)


def test_early_stopping_true_false_and_the_callers_validation_data(tiny):
    X, y = table(200)
    off = MDN(2, n_members=1, early_stopping=False, **tiny).fit(X, y)
    assert off.best_epoch_ is None and off.validation_loss_curve_ == []
    on = MDN(2, n_members=1, early_stopping=True, **tiny).fit(X[:, 0], y)  # even one input
    assert on.best_epoch_ is not None and len(on.validation_loss_curve_) == 3
    # the caller's validation data are scored instead: nothing more is held out
    given = MDN(2, n_members=1, **tiny).fit(X[:150], y[:150], validation_data=(X[150:],
                                                                                 y[150:]))
    assert given.best_epoch_ is not None
    plain = MDN(2, n_members=1, early_stopping=False, **tiny).fit(
        X[:150], y[:150], validation_data=(X[150:], y[150:]))
    np.testing.assert_allclose(given.validation_loss_curve_, plain.validation_loss_curve_)
    # a caller's own EarlyStopping replaces it
    own = mdnlite.EarlyStopping(patience=1, patience_steps=0)
    mdn = MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=200, random_state=0, verbose=0)
    mdn.fit(X, y, validation_split=0.2, callbacks=[own])
    assert mdn.best_epoch_ is None and mdn.n_epochs_ == own.stopped_epoch + 1


def test_early_stopping_arguments_are_checked(tiny):
    X, y = table(50)
    with pytest.raises(ValueError, match="early_stopping must be"):
        MDN(early_stopping="yes", **tiny).fit(X, y)
    for bad in (0.0, 1.0, -0.2):
        with pytest.raises(ValueError, match="validation_fraction"):
            MDN(validation_fraction=bad, **tiny).fit(X, y)
    with pytest.raises(ValueError, match="too few to train on or to score"):
        MDN(early_stopping=True, **tiny).fit(X[:4], y[:4])


# --- noise that follows the inputs ----------------------------------------------------------------

def test_auto_noise_follows_the_number_of_inputs(tiny):
    assert defaults.auto_noise(300) == pytest.approx(1.4 / math.sqrt(300))
    assert defaults.auto_noise(300, 8) == pytest.approx(1.4 * 8 / math.sqrt(300))
    assert defaults.auto_noise(5600, 9) == pytest.approx(1.4 * 9 / math.sqrt(5600))
    assert defaults.auto_noise(500, 13) > defaults.auto_noise(500, 3) > defaults.auto_noise(500)
    assert defaults.auto_noise(2, 10) == defaults.NOISE_MAX == 1.0
    X, y = table(300, d=8)
    mdn = MDN(2, n_members=1, early_stopping=False, **tiny).fit(X, y)
    assert mdn.noise_ == (defaults.auto_noise(300, 8), defaults.auto_noise(300))


# --- the warning for confident nonsense -----------------------------------------------------------

@pytest.mark.parametrize("backend", ["numpy", strict], ids=["numpy", "strict"])
def test_a_model_worse_than_one_gaussian_on_held_out_rows_warns(backend):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 6)), rng.normal(size=200)  # nothing to learn
    memoriser = MDN(10, n_members=1, hidden_sizes=(64, 64), max_epochs=400, input_noise=0.0,
                    target_noise=0.0, weight_decay=0.0, early_stopping=False, random_state=0,
                    backend=backend, verbose=0)
    with pytest.warns(OverfittingWarning, match=r"worse than the .* of one Gaussian fitted to "
                      r"the training targets.*input_noise"):
        memoriser.fit(X, y, validation_split=0.2)
    if backend is strict:
        return
    X, y = rng.normal(size=(600, 6)), rng.normal(size=600)
    least_squares = Regressor(hidden_sizes=(64, 64), max_epochs=400, weight_decay=0.0,
                              learning_rate_schedule="constant", random_state=0, verbose=0)
    with pytest.warns(OverfittingWarning, match="predicting the mean of the training targets"):
        least_squares.fit(X, y, validation_split=0.25, callbacks=[])


def test_a_model_that_generalises_does_not_warn():
    X, y = table(400)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverfittingWarning)
        MDN(3, n_members=1, hidden_sizes=(16,), max_epochs=200, random_state=0,
            verbose=0).fit(X, y)
        # nor does one a little worse than a Gaussian on a few held-out rows: no evidence
        MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=3, random_state=0,
            verbose=0).fit(X[:100], y[:100])


# --- early stopping with warm starts, callbacks of the caller's, and small data --------------------

def test_a_warm_start_holds_no_rows_out_that_it_trained_on_before():
    X, y = table(200)
    mdn = MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=5, warm_start=True,
              random_state=0, verbose=0).fit(X, y)
    assert mdn.best_epoch_ is not None
    mdn.fit(X, y)  # continuing: rows drawn now were trained on, so nothing is held out
    assert mdn.best_epoch_ is None and len(mdn.validation_loss_curve_) == 5
    mdn.fit(X[:150], y[:150], validation_data=(X[150:], y[150:]))  # the caller's rows: yes
    assert mdn.best_epoch_ is not None and len(mdn.validation_loss_curve_) == 10


def test_a_validation_loss_callback_works_on_the_rows_early_stopping_holds_out(tiny):
    X, y = table(200)
    halve = mdnlite.ReduceLROnPlateau(monitor="val_loss", patience=0, factor=0.5, min_delta=1e9)
    mdn = MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=4, random_state=0, verbose=0)
    mdn.fit(X, y, callbacks=[halve])  # several inputs: early stopping holds rows out
    assert len(mdn.validation_loss_curve_) == 4 and mdn.learning_rate_curve_[-1] < 3e-3 / 2
    with pytest.raises(ValueError, match="monitors 'val_loss'"):
        MDN(2, n_members=1, early_stopping=False, **tiny).fit(X, y, callbacks=[halve])


def test_auto_early_stopping_never_holds_out_every_row(tiny):
    X, y = table(10)
    mdn = MDN(2, n_members=1, validation_fraction=0.95, **tiny).fit(X, y)
    assert mdn.best_epoch_ is None and mdn.optimizer_.iterations == 3  # all 10 trained on
    X, y = table(20)
    held = MDN(2, n_members=1, validation_fraction=0.5, **tiny).fit(X, y)  # 10 of 20: enough
    assert held.best_epoch_ is not None


def test_best_epoch_is_none_after_partial_fit_and_load(tmp_path, tiny):
    X, y = table(200)
    mdn = MDN(2, n_members=1, **tiny).fit(X, y)
    assert mdn.best_epoch_ is not None
    mdn.save(tmp_path / "m.npz")
    assert mdnlite.load(tmp_path / "m.npz").best_epoch_ is None  # not a fit of its own
    mdn.partial_fit(X, y)
    assert mdn.best_epoch_ is None


def test_an_ensembles_diagnostics_judge_each_component_within_its_network(ensemble_fit):
    X, y, mdn = ensemble_fit
    report = mdn.diagnostics(X, y)
    assert len(report["mean_weights"]) == 6
    np.testing.assert_allclose(report["mean_weights"].sum(), 1.0, rtol=1e-5)
    # a weight of 1e-3 in the average is 2e-3 within a member of two: alive
    assert dead_components(np.full((4, 2), 0.0008), members=2) == []
    assert dead_components(np.full((4, 2), 0.0004), members=2) == [0, 1]
