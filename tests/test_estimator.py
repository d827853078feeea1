"""The ``MDN`` and ``Regressor`` estimators end to end, every fit a tiny one.

Conventions (scikit-learn's), shapes, reproducibility, loss curves, callbacks, partial_fit and
warm starts, what each model learns, the MDN beating least squares on Bishop's inverse sine,
and every public method on the strict host/device backend (tests/strict_backend.py).
"""

import copy
import os
import pickle

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, Callback, EarlyStopping, ReduceLROnPlateau, Regressor
from mdnlite import mixture
from mdnlite.backend import to_host

from strict_backend import assert_same_results, strict

# the training mechanics without the regularisation of the defaults (checked on their own in
# test_quality_defaults.py): no noise, no weight decay, a constant learning rate
NO_REG = dict(input_noise=0.0, target_noise=0.0, weight_decay=0.0, early_stopping=False,
              learning_rate_schedule="constant")

MDN_PARAMS = {"n_components", "covariance", "scale_activation", "min_scale", "init",
              "n_members"}
NETWORK_PARAMS = {"hidden_sizes", "activation", "optimizer", "learning_rate", "weight_decay",
                  "clip_norm", "max_epochs", "batch_size", "backend", "dtype", "random_state",
                  "warm_start", "verbose", "learning_rate_schedule", "standardize",
                  "input_noise", "target_noise", "early_stopping", "validation_fraction"}


@pytest.fixture(scope="module")
def tiny(tiny):
    """The shared smallest settings, in batches of 64 and without regularisation."""
    return dict(tiny, batch_size=64, **NO_REG)


def bishop(n, seed):
    """Bishop's inverse problem: inputs t = x + 0.3 sin(2πx) + U(-0.1, 0.1), targets x."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    t = x + 0.3 * np.sin(2 * np.pi * x) + rng.uniform(-0.1, 0.1, n)
    return t, x


def logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def _optimizer_state(model):
    opt = model.optimizer_
    return opt.iterations, {k: [a.copy() for a in v] for k, v in (opt.state or {}).items()}


def _assert_same_state(a, b):
    assert a[0] == b[0] and sorted(a[1]) == sorted(b[1])
    for name in a[1]:
        for u, v in zip(a[1][name], b[1][name]):
            np.testing.assert_array_equal(u, v)


class Recorder(Callback):
    """Records every hook call and, after each epoch, the weights and optimizer state."""

    def __init__(self):
        self.begins, self.ends, self.epochs, self.logs = 0, 0, [], []
        self.weights, self.learning_rates, self.iterations = [], [], []

    def on_train_begin(self, model):
        self.begins += 1
        self.initial_weights = model.get_weights()
        self.initial_optimizer = _optimizer_state(model)

    def on_epoch_end(self, model, epoch, logs):
        self.epochs.append(epoch)
        self.logs.append(dict(logs))
        self.weights.append(model.get_weights())
        self.learning_rates.append(model.optimizer_.learning_rate)
        self.iterations.append(model.optimizer_.iterations)
        return False

    def on_train_end(self, model):
        self.ends += 1


# --- scikit-learn conventions ----------------------------------------------------------------

@pytest.mark.parametrize("cls, names", [(MDN, MDN_PARAMS | NETWORK_PARAMS),
                                        (Regressor, NETWORK_PARAMS)])
def test_constructor_only_stores_its_arguments(cls, names):
    hidden = (7, 5)
    given = dict(hidden_sizes=hidden, learning_rate=0.02, max_epochs=9, random_state=3)
    if cls is MDN:
        given.update(n_components=4, covariance="isotropic", min_scale=0.01)
    model = cls(**given)
    params = model.get_params()
    assert set(params) == names
    assert params["hidden_sizes"] is hidden  # stored as given, not converted
    assert {k: params[k] for k in given} == given
    assert [a for a in vars(model) if a.endswith("_")] == []
    # invalid values are stored too: checking them is fit's job
    assert cls(learning_rate=-1.0, max_epochs=0).get_params()["learning_rate"] == -1.0
    with pytest.raises(mdnlite.NotFittedError):
        model.score(np.zeros((2, 1)), np.zeros(2))


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_get_params_set_params_round_trip(cls, make_data):
    model = cls(hidden_sizes=(4,), max_epochs=5, random_state=1)
    clone = cls(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert clone.set_params(max_epochs=2, learning_rate=0.05) is clone
    assert clone.get_params()["max_epochs"] == 2 and clone.learning_rate == 0.05
    assert model.max_epochs == 5  # the original is untouched
    model.set_params(**clone.get_params())
    assert model.get_params() == clone.get_params()
    with pytest.raises(ValueError, match="'n_hidden' is not a parameter"):
        model.set_params(n_hidden=3)
    X, y = make_data(60)
    assert clone.fit(X, y).n_epochs_ == 2  # set_params takes effect at the next fit
    assert type(clone).__name__ in repr(clone) and "max_epochs=2" in repr(clone)


# --- fit, shapes and types ---------------------------------------------------------------

@pytest.mark.parametrize("x_shape", ["(N,)", "(N, D_in)"])
@pytest.mark.parametrize("y_shape, D", [("(N,)", 1), ("(N, 1)", 1), ("(N, D)", 3)])
def test_mdn_output_shapes(x_shape, y_shape, D, tiny, make_data):
    N, K = 50, 3
    X, y = make_data(N, d_in=1 if x_shape == "(N,)" else 2, d=D)
    if x_shape == "(N,)":
        X = X[:, 0]
    if y_shape == "(N,)":
        y = y[:, 0]
    model = MDN(K, n_members=1, **tiny)
    assert model.fit(X, y) is model
    assert model.n_features_in_ == (1 if X.ndim == 1 else 2) and model.n_targets_ == D
    # a 1-D y gives results without the target axis, as in scikit-learn; (N, 1) keeps it
    t = () if y_shape == "(N,)" else (D,)
    expected = {"predict": (N, *t), "predict_variance": (N, *t), "predict_mode": (N, *t),
                "predict_covariance": (N, *t, *t)}
    for method, shape in expected.items():
        out = getattr(model, method)(X)
        assert type(out) is np.ndarray and out.shape == shape, method
        assert out.dtype == np.float64 and np.isfinite(out).all(), method
    assert (model.predict_variance(X) > 0).all()
    mix = model.predict_mixture(X)
    assert isinstance(mix, mdnlite.MixtureParameters) and mix._fields == ("weights", "means",
                                                                          "scales")
    assert all(type(a) is np.ndarray and a.dtype == np.float64 for a in mix)
    # the mixture keeps its target axis whatever y was: it feeds mdnlite.mixture directly
    assert mix.weights.shape == (N, K) and mix.means.shape == mix.scales.shape == (N, K, D)
    np.testing.assert_allclose(mix.weights.sum(axis=1), 1.0, rtol=1e-5)
    assert (mix.weights >= 0).all() and (mix.scales > 0).all()
    log_p = model.score_samples(X, y)
    assert type(log_p) is np.ndarray and log_p.shape == (N,) and np.isfinite(log_p).all()
    score = model.score(X, y)
    assert type(score) is float and score == pytest.approx(float(log_p.mean()), rel=1e-6)
    assert model.sample(X).shape == (N, 1, *t)
    draws = model.sample(X, n_samples=4, random_state=0)
    assert type(draws) is np.ndarray and draws.shape == (N, 4, *t) and np.isfinite(draws).all()
    # the residual of a 1-D y is 1-D: no silent (N, N) broadcast
    assert (model.predict(X) - y).shape == y.shape


@pytest.mark.parametrize("covariance", ["isotropic", "diagonal"])
@pytest.mark.parametrize("scale_activation", ["softplus", "exp", "elu1"])
def test_predictions_agree_with_the_mixture(covariance, scale_activation, tiny, make_data):
    """Every prediction is the formula of the mixture that predict_mixture returns."""
    X, y = make_data(80, d=2)
    model = MDN(3, n_members=1, covariance=covariance, scale_activation=scale_activation, min_scale=0.01,
                dtype="float64", **tiny).fit(X, y)
    w, mu, sigma = model.predict_mixture(X)  # (N, K), (N, K, D), (N, K, D)
    y_scale = model.standardizer_.y_scale
    assert (sigma >= 0.01 * y_scale).all()  # the floor, in standardised units
    if covariance == "isotropic":  # one σ per component, times each target's scale
        np.testing.assert_allclose(sigma[:, :, 0] / y_scale[0], sigma[:, :, 1] / y_scale[1],
                                   rtol=1e-12)
    else:
        assert not np.array_equal(sigma[:, :, 0], sigma[:, :, 1])
    mean = (w[:, :, None] * mu).sum(axis=1)
    np.testing.assert_allclose(model.predict(X), mean, rtol=1e-10, atol=1e-12)
    second = (w[:, :, None] * (sigma ** 2 + mu ** 2)).sum(axis=1)
    np.testing.assert_allclose(model.predict_variance(X), second - mean ** 2, rtol=1e-8)
    np.testing.assert_array_equal(model.predict_approx_mode(X),
                                  mu[np.arange(len(X)), w.argmax(axis=1)])
    log_comp = -0.5 * (((y[:, None, :] - mu) / sigma) ** 2 + np.log(2 * np.pi * sigma ** 2))
    expected = logsumexp(np.log(w) + log_comp.sum(axis=2), axis=1)
    np.testing.assert_allclose(model.score_samples(X, y), expected, rtol=1e-9, atol=1e-12)


def test_dtype_and_input_forms(tiny, make_data):
    X, y = make_data(60, d_in=1)
    ref = MDN(2, n_members=1, **tiny).fit(X, y)
    assert ref.get_weights().dtype == np.float32  # it computes in float32 by default
    from_lists = MDN(2, n_members=1, **tiny).fit(X.tolist(), y.tolist())
    from_1d = MDN(2, n_members=1, **tiny).fit(X[:, 0], y)
    for other in (from_lists, from_1d):
        np.testing.assert_array_equal(other.get_weights(), ref.get_weights())
    pred = from_lists.predict(X[:, 0].tolist())
    assert type(pred) is np.ndarray
    np.testing.assert_array_equal(pred, ref.predict(X))
    assert from_lists.score(X.tolist(), y.tolist()) == ref.score(X, y)
    wide = MDN(2, n_members=1, dtype="float64", **tiny).fit(X, y)
    assert wide.predict(X).dtype == np.float64 and wide.get_weights().dtype == np.float64
    r = Regressor(**tiny).fit(X.tolist(), y.tolist())
    assert type(r.predict(X.tolist())) is np.ndarray and type(r.score(X, y)) is float


RESULTS = ["predict", "predict_variance", "predict_covariance", "predict_mode", "sample",
           "predict_mixture", "score_samples"]


def _results(model, X, y):
    out = {m: getattr(model, m)(X) for m in RESULTS if m != "score_samples"}
    out["score_samples"] = model.score_samples(X, y)
    return out


@pytest.mark.parametrize("cls", [MDN, Regressor])
@pytest.mark.parametrize("compute", ["float32", "float64"])
def test_results_take_the_dtype_of_the_inputs(cls, compute, tiny, make_data):
    """The dtype policy: a model computes in its ``dtype``; its results are float32 for
    float32 X and float64 for anything else (float64, integers, lists)."""
    X, y = make_data(60, d_in=1)
    model = cls(**dict(tiny, dtype=compute)).fit(X, y)
    for inputs, dtype in ((X, np.float64), (X.astype(np.float32), np.float32),
                          (np.round(10 * X).astype(np.int64), np.float64),
                          (X.tolist(), np.float64)):
        for method, value in _results(model, inputs, y).items():
            arrays = value if method == "predict_mixture" else [value]
            assert all(a.dtype == dtype for a in arrays), (method, inputs.__class__, dtype)
    # a float32 model gives the same numbers whatever X's dtype, to float32 rounding (the
    # standardisation of float64 X is computed in float64 first)
    np.testing.assert_allclose(model.predict(X), model.predict(X.astype(np.float32)),
                               rtol=1e-6 if compute == "float32" else 1e-7, atol=1e-7)


def test_regressor_output_shapes(tiny, make_data):
    N = 40
    X, y = make_data(N, d=3)
    model = Regressor(**tiny)
    assert model.fit(X, y) is model
    assert model.predict(X).shape == (N, 3)
    assert model.noise_variance_.shape == (3,) and (model.noise_variance_ > 0).all()
    assert model.score_samples(X, y).shape == (N,)
    one = Regressor(**tiny).fit(X[:, 0], y[:, 0])
    assert one.predict(X[:, 0]).shape == (N,) and one.predict_variance(X[:, 0]).shape == (N,)
    column = Regressor(**tiny).fit(X[:, 0], y[:, :1])
    assert column.predict(X[:, 0]).shape == (N, 1)
    assert one.score_samples(X[:, 0], y[:, 0]).shape == (N,)


# --- reproducibility ---------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_same_seed_same_model(cls, tiny, make_data):
    X, y = make_data(120, d=2)
    kwargs = dict(tiny, batch_size=32)  # several shuffled batches per epoch
    a = cls(**kwargs).fit(X, y, validation_split=0.2)
    b = cls(**kwargs).fit(X, y, validation_split=0.2)
    c = cls(**dict(kwargs, random_state=1)).fit(X, y, validation_split=0.2)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_loss_curve_ == b.validation_loss_curve_
    assert not np.array_equal(a.get_weights(), c.get_weights())
    assert a.loss_curve_ != c.loss_curve_


def test_sampling_is_seeded(tiny, make_data):
    X, y = make_data(30)
    model = MDN(3, n_members=1, **tiny).fit(X, y)
    first = model.sample(X, n_samples=5, random_state=7)
    np.testing.assert_array_equal(model.sample(X, n_samples=5, random_state=7), first)
    assert not np.array_equal(model.sample(X, n_samples=5, random_state=8), first)


# --- loss curves and validation ----------------------------------------------------------

def test_loss_curves_and_validation(tiny, make_data):
    X, y = make_data(200)
    X_val, y_val = make_data(50, seed=1)
    plain = MDN(2, n_members=1, **dict(tiny, max_epochs=4)).fit(X, y)
    assert len(plain.loss_curve_) == plain.n_epochs_ == 4
    assert plain.validation_loss_curve_ == []
    assert all(type(v) is float for v in plain.loss_curve_)

    held = MDN(2, n_members=1, **dict(tiny, max_epochs=4)).fit(X, y, validation_data=(X_val, y_val))
    assert len(held.validation_loss_curve_) == 4
    assert held.loss_curve_ == plain.loss_curve_  # validation data do not touch training
    # the recorded validation loss is the mean NLL on the validation data after that epoch
    assert held.validation_loss_curve_[-1] == pytest.approx(-held.score(X_val, y_val), rel=1e-5)

    split = MDN(2, n_members=1, **dict(tiny, max_epochs=4)).fit(X, y, validation_split=0.25)
    assert len(split.validation_loss_curve_) == len(split.loss_curve_) == 4
    assert np.isfinite(split.validation_loss_curve_).all()
    assert split.loss_curve_ != plain.loss_curve_  # it trained on 150 samples, not 200

    r = Regressor(**tiny).fit(X, y, validation_data=(X_val, y_val))
    # the least-squares loss is the mean squared error in standardised units
    mse = float((((r.predict(X_val) - y_val) / r.standardizer_.y_scale) ** 2).mean())
    assert r.validation_loss_curve_[-1] == pytest.approx(mse, rel=1e-5)

    with pytest.raises(ValueError, match="validation_data or validation_split, not both"):
        MDN(2, n_members=1, **tiny).fit(X, y, validation_data=(X_val, y_val), validation_split=0.2)


def _spy_on_batches(model):
    """Record the targets of every call to the model's loss (each training batch and each
    validation pass); the targets are the sample numbers, so they say which rows were used."""
    calls, forward = [], model.head_.loss_forward_t

    def spy(z, y):
        calls.append(to_host(y)[:, 0].copy())
        return forward(z, y)

    model.head_.loss_forward_t = spy
    return calls


def test_every_epoch_visits_each_training_row_once_in_a_new_order(tiny):
    N = 100
    X, y = np.random.default_rng(0).normal(size=(N, 2)), np.arange(N, dtype=float)
    model = Regressor(**dict(tiny, batch_size=32, warm_start=True, standardize=False))
    model.partial_fit(X, y)
    calls = _spy_on_batches(model)
    model.set_params(max_epochs=3).fit(X, y)
    # first and last: the divergence check's loss on the training rows, before and after
    start, *calls, end = calls
    np.testing.assert_array_equal(np.sort(start), np.arange(N))
    np.testing.assert_array_equal(np.sort(end), np.arange(N))
    assert [len(c) for c in calls] == [32, 32, 32, 4] * 3
    orders = [np.concatenate(calls[i:i + 4]) for i in range(0, 12, 4)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(N))
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(N))

    # with validation_split the held-out rows are never trained on and are the same each epoch
    model = Regressor(**dict(tiny, batch_size=32, warm_start=True, standardize=False))
    model.partial_fit(X, y)
    calls = _spy_on_batches(model)
    model.set_params(max_epochs=2).fit(X, y, validation_split=0.2)
    start, *calls, end = calls  # the training rows alone, as above
    assert len(start) == len(end) == 80 and not set(start) & set(calls[3])
    assert [len(c) for c in calls] == [32, 32, 16, 20] * 2
    train = [np.concatenate(calls[i:i + 3]) for i in (0, 4)]
    held_out = [calls[3], calls[7]]
    np.testing.assert_array_equal(np.sort(train[0]), np.sort(train[1]))
    np.testing.assert_array_equal(held_out[0], held_out[1])
    np.testing.assert_array_equal(np.sort(np.concatenate([train[0], held_out[0]])),
                                  np.arange(N))
    assert not np.array_equal(train[0], train[1])


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_training_loss_goes_down_on_an_easy_problem(cls):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 300)
    y = 2 * x + 0.05 * rng.normal(size=300)
    model = cls(hidden_sizes=(16,), learning_rate=0.01, max_epochs=30, batch_size=32,
                random_state=0, **NO_REG).fit(x, y)
    curve = model.loss_curve_
    if cls is MDN:
        assert curve[-1] < curve[0] - 1.0  # nats per sample
        assert model.score(x, y) > 1.0  # noise sd 0.05: the best possible is about 1.6
    else:
        assert curve[-1] < 0.05 * curve[0]


# --- callbacks ---------------------------------------------------------------------------

def test_callback_hooks(tiny, make_data):
    X, y = make_data(100)
    X_val, y_val = make_data(30, seed=1)
    rec = Recorder()
    model = MDN(2, n_members=1, **dict(tiny, max_epochs=3)).fit(X, y, validation_data=(X_val, y_val),
                                                    callbacks=[rec])
    assert (rec.begins, rec.ends, rec.epochs) == (1, 1, [0, 1, 2])
    assert [log["loss"] for log in rec.logs] == model.loss_curve_
    assert [log["val_loss"] for log in rec.logs] == model.validation_loss_curve_
    np.testing.assert_array_equal(rec.weights[-1], model.get_weights())

    class StopAfterTwo(Callback):
        def on_epoch_end(self, model, epoch, logs):
            return epoch == 1

    stopped = MDN(2, n_members=1, **dict(tiny, max_epochs=10)).fit(X, y, callbacks=[StopAfterTwo()])
    assert stopped.n_epochs_ == len(stopped.loss_curve_) == 2


def test_early_stopping_stops_when_nothing_improves(tiny, make_data):
    # no epoch can beat the first by 1000 nats: epochs 1 and 2 do not improve, then it stops
    X, y = make_data(100)
    es = EarlyStopping(monitor="loss", patience=2, min_delta=1e3, patience_steps=0)
    model = MDN(2, n_members=1, **dict(tiny, max_epochs=50)).fit(X, y, callbacks=[es])
    assert model.n_epochs_ == len(model.loss_curve_) == 3
    assert (es.best_epoch, es.stopped_epoch) == (0, 2)


def test_early_stopping_waits_for_patience_steps_as_well(tiny, make_data):
    # one step an epoch: patience=2 alone would stop at epoch 2, as above; 20 steps of
    # patience keep it going until 20 steps have passed since the best epoch (epoch 0,
    # after step 1), that is to the end of epoch 20
    X, y = make_data(40)
    es = EarlyStopping(monitor="loss", patience=2, min_delta=1e3, patience_steps=20)
    model = MDN(2, n_members=1, **dict(tiny, batch_size=40, max_epochs=100)).fit(X, y, callbacks=[es])
    assert (es.best_epoch, es.stopped_epoch) == (0, 20)
    assert model.n_epochs_ == 21 and model.optimizer_.iterations == 21
    # with many steps an epoch, the epochs of patience are the longer wait
    es = EarlyStopping(monitor="loss", patience=2, min_delta=1e3, patience_steps=5)
    model = MDN(2, n_members=1, **dict(tiny, batch_size=10, max_epochs=100)).fit(X, y, callbacks=[es])
    assert es.stopped_epoch == 2 and model.optimizer_.iterations == 12


def test_early_stopping_runs_on_while_improving(make_data):
    X, y = make_data(100)
    es = EarlyStopping(monitor="loss", patience=0)
    model = Regressor(hidden_sizes=(8,), max_epochs=8, batch_size=100, learning_rate=0.01,
                      random_state=0, **NO_REG).fit(X, y, callbacks=[es])
    assert np.all(np.diff(model.loss_curve_) < 0)  # full-batch Adam on a smooth problem
    assert es.stopped_epoch is None and es.best_epoch == 7 and model.n_epochs_ == 8


def test_early_stopping_restores_the_best_weights():
    # 40 noise targets and a wide network: the validation loss is best after an epoch or
    # two and then rises as the network memorises the training noise
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=40)
    X_val, y_val = rng.normal(size=(200, 2)), rng.normal(size=200)
    rec = Recorder()
    es = EarlyStopping(patience=3, patience_steps=0, restore_best_weights=True)
    model = MDN(3, n_members=1, hidden_sizes=(32,), learning_rate=0.03, max_epochs=100, batch_size=40,
                random_state=0)
    model.fit(X, y, validation_data=(X_val, y_val), callbacks=[rec, es])
    assert es.stopped_epoch is not None and model.n_epochs_ < 100
    best = es.best_epoch
    assert best == int(np.argmin(model.validation_loss_curve_)) < es.stopped_epoch
    np.testing.assert_array_equal(model.get_weights(), rec.weights[best])
    assert not np.array_equal(model.get_weights(), rec.weights[-1])
    assert model.score(X_val, y_val) == pytest.approx(-model.validation_loss_curve_[best],
                                                      rel=1e-5)

    # without restore_best_weights the last epoch's weights stay
    rec = Recorder()
    model.fit(X, y, validation_data=(X_val, y_val), callbacks=[rec, EarlyStopping(patience=3, patience_steps=0)])
    np.testing.assert_array_equal(model.get_weights(), rec.weights[-1])


def test_early_stopping_on_val_loss_needs_validation_data(tiny, make_data):
    X, y = make_data(50)
    with pytest.raises(ValueError, match="monitors 'val_loss'.*validation_data or "
                                         "validation_split"):
        MDN(2, n_members=1, **tiny).fit(X, y, callbacks=[EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError, match="monitors 'val_loss'"):
        MDN(2, n_members=1, **tiny).fit(X, y, callbacks=[ReduceLROnPlateau()])
    es = EarlyStopping(monitor="val_loss", patience=1)
    MDN(2, n_members=1, **tiny).fit(X, y, validation_split=0.2, callbacks=[es])  # fine with a split


def test_reduce_lr_on_plateau_reduces_by_factor_down_to_min_lr(tiny, make_data):
    X, y = make_data(100)
    rec = Recorder()
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e3,
                                min_lr=2e-4)
    model = MDN(2, n_members=1, learning_rate=1e-3, **dict(tiny, max_epochs=6))
    model.fit(X, y, callbacks=[plateau, rec])
    assert rec.learning_rates == pytest.approx([1e-3, 5e-4, 2.5e-4, 2e-4, 2e-4, 2e-4],
                                               rel=1e-12)
    assert [epoch for epoch, _ in plateau.reductions] == [1, 2, 3]
    assert model.optimizer_.learning_rate == 2e-4
    assert model.learning_rate == 1e-3  # the constructor argument is left alone


def test_reduce_lr_on_plateau_waits_patience_and_cooldown(tiny, make_data):
    X, y = make_data(100)
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.1, patience=2, cooldown=1,
                                min_delta=1e3)
    model = MDN(2, n_members=1, learning_rate=1e-2, **dict(tiny, max_epochs=7)).fit(X, y,
                                                                       callbacks=[plateau])
    # epoch 0 improves; 1, 2 do not -> reduce at 2; 3 cools down; 4, 5 do not -> reduce at 5
    assert [epoch for epoch, _ in plateau.reductions] == [2, 5]
    assert model.optimizer_.learning_rate == pytest.approx(1e-4, rel=1e-12)

    steady = ReduceLROnPlateau(monitor="loss", patience=0)
    model = Regressor(hidden_sizes=(8,), max_epochs=6, batch_size=100, learning_rate=0.01,
                      random_state=0, **NO_REG).fit(X, y, callbacks=[steady])
    assert np.all(np.diff(model.loss_curve_) < 0)
    assert steady.reductions == [] and model.optimizer_.learning_rate == 0.01


@pytest.mark.parametrize("make, match", [
    (lambda: EarlyStopping(monitor="accuracy"), "monitor must be 'loss' or 'val_loss'"),
    (lambda: EarlyStopping(patience=-1), "patience must be an integer >= 0"),
    (lambda: EarlyStopping(patience=1.5), "patience must be an integer, got 1.5"),
    (lambda: EarlyStopping(min_delta=-0.1), "min_delta must be >= 0"),
    (lambda: EarlyStopping(min_delta=float("nan")), "min_delta must be >= 0"),
    (lambda: ReduceLROnPlateau(factor=1.0), r"factor must be in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(factor=0), r"factor must be in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(factor=2.0), r"factor must be in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(cooldown=-1), "cooldown must be an integer >= 0"),
    (lambda: ReduceLROnPlateau(cooldown=0.5), "cooldown must be an integer, got 0.5"),
    (lambda: ReduceLROnPlateau(min_lr=-1e-3), "min_lr must be >= 0"),
    (lambda: ReduceLROnPlateau(monitor="lr"), "monitor must be"),
    (lambda: ReduceLROnPlateau(patience=-2), "patience must be"),
])
def test_bad_callback_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# --- partial_fit and warm starts ---------------------------------------------------------

@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_partial_fit_trains_one_epoch_per_call(cls, tiny, make_data):
    X, y = make_data(150, d=2)
    kwargs = dict(tiny, batch_size=32)  # 5 steps per epoch
    model = cls(**kwargs)
    assert model.partial_fit(X, y) is model
    # the first call initialises from the seed: a one-epoch fit
    twin = cls(**dict(kwargs, max_epochs=1)).fit(X, y)
    np.testing.assert_array_equal(model.get_weights(), twin.get_weights())
    assert model.loss_curve_ == twin.loss_curve_ and model.n_epochs_ == 1
    twin.set_params(warm_start=True)
    for epoch in (2, 3):
        before, curve = model.get_weights(), list(model.loss_curve_)
        assert model.partial_fit(X, y) is model
        assert model.n_epochs_ == len(model.loss_curve_) == epoch
        assert model.loss_curve_[:-1] == curve
        assert model.optimizer_.iterations == 5 * epoch
        assert not np.array_equal(model.get_weights(), before)
        # each further call is one epoch from the current weights, optimizer state and
        # generator: a warm-started one-epoch fit
        twin.fit(X, y)
        np.testing.assert_array_equal(model.get_weights(), twin.get_weights())
        assert model.loss_curve_ == twin.loss_curve_
    assert model.validation_loss_curve_ == []


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_partial_fit_after_fit_continues(cls, tiny, make_data):
    X, y = make_data(150)
    kwargs = dict(tiny, batch_size=32, max_epochs=2)
    model = cls(**kwargs).fit(X, y)
    weights, curve, state = model.get_weights(), list(model.loss_curve_), _optimizer_state(model)
    rec = Recorder()
    twin = cls(**kwargs).fit(X, y)
    twin.set_params(warm_start=True, max_epochs=1).fit(X, y, callbacks=[rec])
    np.testing.assert_array_equal(rec.initial_weights, weights)
    model.partial_fit(X, y)
    assert model.n_epochs_ == 3 and model.loss_curve_[:2] == curve
    assert model.optimizer_.iterations == state[0] + 5
    np.testing.assert_array_equal(model.get_weights(), twin.get_weights())
    fresh = cls(**kwargs).partial_fit(X, y)
    assert not np.array_equal(model.get_weights(), fresh.get_weights())


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_warm_start(cls, tiny, make_data):
    X, y = make_data(150)
    kwargs = dict(tiny, batch_size=32, max_epochs=2)  # 5 steps per epoch
    warm = cls(warm_start=True, **kwargs).fit(X, y)
    weights, curve, state = warm.get_weights(), list(warm.loss_curve_), _optimizer_state(warm)
    rec = Recorder()
    warm.set_params(max_epochs=3).fit(X, y, callbacks=[rec])
    # it went on from the weights, optimizer state and curves it had
    np.testing.assert_array_equal(rec.initial_weights, weights)
    _assert_same_state(rec.initial_optimizer, state)
    assert warm.n_epochs_ == len(warm.loss_curve_) == 5 and warm.loss_curve_[:2] == curve
    assert warm.optimizer_.iterations == 25 and rec.iterations == [15, 20, 25]
    assert warm.loss_curve_[2] != curve[0]

    cold = cls(**kwargs).fit(X, y)
    rec = Recorder()
    cold.fit(X[::-1], y[::-1], callbacks=[rec])  # warm_start=False: a fresh start
    fresh_rec = Recorder()
    fresh = cls(**kwargs).fit(X[::-1], y[::-1], callbacks=[fresh_rec])
    np.testing.assert_array_equal(rec.initial_weights, fresh_rec.initial_weights)
    np.testing.assert_array_equal(cold.get_weights(), fresh.get_weights())
    assert cold.n_epochs_ == 2 and cold.loss_curve_ == fresh.loss_curve_
    _assert_same_state(_optimizer_state(cold), _optimizer_state(fresh))


def test_set_weights_round_trip(tiny, make_data):
    X, y = make_data(40)
    model = MDN(2, n_members=1, **tiny).fit(X, y)
    weights = model.get_weights()
    before = model.predict(X)
    weights += 0.1  # a copy: the model is unchanged
    np.testing.assert_array_equal(model.predict(X), before)
    model.set_weights(weights)
    np.testing.assert_array_equal(model.get_weights(), weights)
    assert not np.allclose(model.predict(X), before)
    model.set_weights(weights - 0.1)
    np.testing.assert_allclose(model.predict(X), before, rtol=1e-5, atol=1e-6)


# --- what the models learn -------------------------------------------------------------------

def test_regressor_learns_the_conditional_mean_and_the_noise_variance():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, 500)
    y = np.sin(2 * x) + rng.normal(0, 0.1, 500)  # noise variance 0.01
    model = Regressor(hidden_sizes=(16,), learning_rate=0.02, max_epochs=300, batch_size=50,
                      random_state=0).fit(x, y)
    grid = np.linspace(-1.4, 1.4, 50)
    error = model.predict(grid) - np.sin(2 * grid)  # (50,): y was 1-D
    assert np.sqrt(np.mean(error ** 2)) < 0.06  # sin(2x) itself has an RMS of about 0.7
    assert model.noise_variance_[0] == pytest.approx(0.01, rel=0.3)


def test_regressor_scores_with_a_gaussian(tiny, make_data):
    X, y = make_data(60, d=2)
    model = Regressor(**tiny).fit(X, y)
    residual = (y - model.predict(X)).astype(np.float64)  # (N, D)
    var = model.noise_variance_.astype(np.float64)  # (D,)
    np.testing.assert_allclose(var, (residual ** 2).mean(axis=0), rtol=1e-5)
    X_new, y_new = make_data(30, d=2, seed=1)
    r = y_new - model.predict(X_new).astype(np.float64)
    expected = (-0.5 * r ** 2 / var - 0.5 * np.log(2 * np.pi * var)).sum(axis=1)
    np.testing.assert_allclose(model.score_samples(X_new, y_new), expected, rtol=1e-5)
    assert model.score(X_new, y_new) == pytest.approx(expected.mean(), rel=1e-5)


def test_mdn_beats_least_squares_on_bishops_inverse_sine():
    t_train, x_train = bishop(1000, seed=10)
    t_test, x_test = bishop(1000, seed=100)
    kwargs = dict(hidden_sizes=(16,), learning_rate=0.01, max_epochs=60, batch_size=50,
                  random_state=0)
    mdn = MDN(3, n_members=1, **kwargs).fit(t_train, x_train)
    least_squares = Regressor(**kwargs).fit(t_train, x_train)
    mdn_nats, ls_nats = mdn.score(t_test, x_test), least_squares.score(t_test, x_test)
    assert mdn_nats > ls_nats + 0.5, (mdn_nats, ls_nats)


# --- the strict host/device backend ------------------------------------------------------

def _every_method(xp, tmp_path):
    """Call every public method of MDN and Regressor on ``xp``; return what they produce."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(120, 2)), rng.normal(size=(120, 2))
    dev = strict.asarray if xp is strict else np.asarray
    Xd, yd = dev(X), dev(y)
    out = {}
    with pytest.raises(mdnlite.NotFittedError):
        MDN(2, n_members=1, backend=xp).score(Xd, yd)

    rec = Recorder()
    es = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    plateau = ReduceLROnPlateau(monitor="val_loss", patience=0, factor=0.5)
    mdn = MDN(2, n_members=1, hidden_sizes=(6,), max_epochs=4, batch_size=32, random_state=0, backend=xp)
    mdn.fit(Xd, yd, validation_split=0.25, callbacks=[rec, es, plateau])
    mdn.partial_fit(Xd, yd)
    out["weights"] = mdn.get_weights()
    out["recorded"] = rec.weights[0]
    out["predict"] = mdn.predict(Xd)
    out["variance"] = mdn.predict_variance(Xd)
    out["mode"] = mdn.predict_mode(Xd)
    out["mixture"] = mdn.predict_mixture(Xd)
    out["score_samples"] = mdn.score_samples(Xd, yd)
    out["score"] = mdn.score(Xd, yd)
    out["sample"] = mdn.sample(Xd, n_samples=3, temperature=0.5, random_state=1)
    out["loss_curve"] = mdn.loss_curve_
    out["validation_loss_curve"] = mdn.validation_loss_curve_
    out["learning_rate"] = mdn.optimizer_.learning_rate
    mdn.set_weights(mdn.get_weights() * 0.5)
    out["set_weights"] = mdn.predict(Xd)
    path = mdn.save(str(tmp_path / f"mdn-{xp.__name__}.npz"))
    out["loaded"] = mdnlite.load(path, backend=xp).predict(Xd)
    out["loaded_on_host"] = mdnlite.load(path).predict(X)

    reg = Regressor(hidden_sizes=(6,), max_epochs=3, batch_size=32, random_state=0, backend=xp)
    reg.fit(Xd, yd, validation_split=0.25, callbacks=[EarlyStopping(monitor="loss")])
    reg.partial_fit(Xd, yd)
    out["reg_predict"] = reg.predict(Xd)
    out["reg_noise_variance"] = reg.noise_variance_
    out["reg_score_samples"] = reg.score_samples(Xd, yd)
    out["reg_score"] = reg.score(Xd, yd)
    out["reg_weights"] = reg.get_weights()
    reg.set_weights(reg.get_weights())
    path = reg.save(str(tmp_path / f"reg-{xp.__name__}.npz"))
    loaded = mdnlite.load(path, backend=xp)
    out["reg_loaded"] = loaded.predict(Xd)
    out["reg_loaded_score"] = loaded.score(Xd, yd)

    diverging = MDN(2, n_members=1, scale_activation="exp", min_scale=0.0, optimizer="sgd",
                    learning_rate=1e6, hidden_sizes=(6,), max_epochs=2, batch_size=32,
                    random_state=0, backend=xp)
    start = Recorder()
    with np.errstate(all="ignore"), pytest.raises(mdnlite.NonFiniteLossError):
        diverging.fit(Xd, yd, callbacks=[start])
    out["kept_weights"] = diverging.get_weights()
    out["initial_weights"] = start.initial_weights
    with open(tmp_path / "broken.npz", "wb") as f:
        f.write(b"not a model")
    with pytest.raises(mdnlite.ModelFileError):
        mdnlite.load(tmp_path / "broken.npz", backend=xp)
    return out


HOST_RESULTS = {"mixture", "score", "loss_curve", "validation_loss_curve", "learning_rate",
                "loaded_on_host", "reg_score", "reg_loaded_score"}


def test_every_method_on_the_strict_backend_matches_numpy(tmp_path):
    on_device = _every_method(strict, tmp_path)
    on_host = _every_method(np, tmp_path)
    assert_same_results(on_device, on_host, HOST_RESULTS)
    # the model saved from the device loads on the host with the same predictions
    np.testing.assert_array_equal(to_host(on_device["loaded"]), on_device["loaded_on_host"])
    # a diverging fit keeps the weights it started from, on the device as on the host
    np.testing.assert_array_equal(to_host(on_device["kept_weights"]),
                                  to_host(on_device["initial_weights"]))


def test_regressor_mixture_is_its_gaussian():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (200, 2))
    y = np.stack([X[:, 0], X[:, 1] ** 2], axis=1) + 0.1 * rng.standard_normal((200, 2))
    model = Regressor(hidden_sizes=(8,), max_epochs=5, random_state=0).fit(X, y)
    weights, means, scales = model.predict_mixture(X[:7])
    assert weights.shape == (7, 1) and means.shape == (7, 1, 2) and scales.shape == (7, 1, 2)
    np.testing.assert_array_equal(weights, 1.0)
    np.testing.assert_allclose(means[:, 0], model.predict(X[:7]), rtol=1e-6)
    np.testing.assert_allclose(scales[:, 0] ** 2, np.broadcast_to(model.noise_variance_, (7, 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(model.predict_variance(X[:7]), scales[:, 0] ** 2, rtol=1e-5)
    # the mixture's log-density is the model's own score
    log_p = mixture.log_prob(y[:7], np.log(weights), means, scales)
    np.testing.assert_allclose(log_p, model.score_samples(X[:7], y[:7]), rtol=1e-5, atol=1e-5)


# --- found in review: copies, saved configuration, refused fits, the Regressor's interface ---

def _tiny_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 300)
    return x, np.sin(6 * x)


@pytest.fixture(scope="module")
def sine_mdn():
    """An MDN fitted on _tiny_data for 3 epochs: only read (a test that changes it copies it)."""
    x, y = _tiny_data()
    return MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=3, random_state=0).fit(x, y)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_a_copied_model_still_trains(duplicate, sine_mdn):
    x, y = _tiny_data()
    model = sine_mdn
    twin = duplicate(model)
    before = twin.predict(x[:5]).copy()
    twin.partial_fit(x, y)
    assert not np.array_equal(before, twin.predict(x[:5]))  # the layers see the new weights
    np.testing.assert_array_equal(model.predict(x[:5]), before)  # the original is untouched
    twin.set_weights(np.zeros_like(twin.get_weights()))
    assert np.ptp(twin.predict(x[:5])) == 0  # zero weights: the same output for every input


@pytest.mark.parametrize("change", [dict(min_scale=0.5), dict(hidden_sizes=(4,)),
                                    dict(covariance="isotropic"), dict(activation="relu")])
def test_saving_after_set_params_keeps_the_fitted_model(tmp_path, change, sine_mdn):
    x, y = _tiny_data()
    model = copy.deepcopy(sine_mdn)  # set_params changes it
    model.set_params(**change)  # takes effect at the next fit, not before
    model.save(tmp_path / "m.npz")
    loaded = mdnlite.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict_variance(x[:5]), model.predict_variance(x[:5]))


def test_a_fit_refused_for_its_callbacks_leaves_the_model_alone(sine_mdn):
    x, y = _tiny_data()
    model = copy.deepcopy(sine_mdn)  # the test tries to change it, and refits it at the end
    weights = model.get_weights().copy()
    with pytest.raises(ValueError, match="monitors 'val_loss'"):
        model.fit(x, y, callbacks=[EarlyStopping()])
    with pytest.raises(TypeError, match="callbacks must be mdnlite.Callback"):
        model.fit(x, y, callbacks=["stop"])
    with pytest.raises(ValueError, match="verbose must be 'auto', 0, 1 or 2, got 'yes'"):
        model.fit(x, y, verbose="yes")
    assert model.n_epochs_ == 3
    np.testing.assert_array_equal(model.get_weights(), weights)
    model.fit(x, y, callbacks=None)  # None means no callbacks
    assert model.n_epochs_ == 3


def test_a_regressor_stopped_by_a_nonfinite_loss_stays_usable():
    x, y = _tiny_data()
    model = Regressor(hidden_sizes=(8,), optimizer="sgd", learning_rate=1e30, max_epochs=2)
    with np.errstate(all="ignore"), pytest.raises(mdnlite.NonFiniteLossError):
        model.fit(x, y * 1e18)
    assert np.isfinite(model.score(x, y))


def test_the_regressor_has_the_whole_prediction_interface():
    x, y = _tiny_data()
    model = Regressor(hidden_sizes=(8,), max_epochs=3, random_state=0).fit(x, y)
    weights, means, scales = model.predict_mixture(x[:4])
    assert weights.dtype == means.dtype == scales.dtype == np.float64  # x is float64
    assert means.shape == scales.shape == (4, 1, 1)
    np.testing.assert_array_equal(model.predict_mode(x[:4]), model.predict(x[:4]))
    cov = model.predict_covariance(x[:4])
    assert cov.shape == (4,)  # y was 1-D: the covariance of a scalar is its variance
    np.testing.assert_allclose(cov, model.predict_variance(x[:4]), rtol=1e-6)
    draws = model.sample(x[:4], n_samples=20000, random_state=0)
    assert draws.shape == (4, 20000)
    np.testing.assert_allclose(draws.mean(axis=1), model.predict(x[:4]), atol=0.02)
    np.testing.assert_array_equal(model.sample(x[:4], 3, sigma_temperature=0),
                                  np.repeat(model.predict(x[:4])[:, None], 3, axis=1))


def test_sampling_arguments_are_named():
    x, y = _tiny_data()
    model = MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=2, random_state=0).fit(x, y)
    with pytest.raises(ValueError, match="random_state must be an integer >= 0"):
        model.sample(x[:3], 2, random_state=-1)
    with pytest.raises(TypeError, match="temperature must be a number"):
        model.sample(x[:3], 2, temperature="1")
    with pytest.raises(ValueError, match="X must be a rectangular array"):
        model.predict([[1.0, 2.0], [3.0]])


def test_a_saved_file_is_readable_as_the_umask_allows(tmp_path):
    x, y = _tiny_data()
    model = MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=2, random_state=0).fit(x, y)
    old = os.umask(0o022)
    try:
        model.save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644
