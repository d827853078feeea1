"""Training that fails says so: divergence, non-finite losses, interrupts, overflow in EM.

Every case here is a way a fit used to end "fitted" with a useless model, or with weights that
disagree with its counts, without a word.
"""

import warnings

import numpy as np
import pytest

import mdnlite
from mdnlite import (MDN, Callback, DivergenceWarning, EarlyStopping, GaussianMixture,
                     NonFiniteLossError, Regressor, datasets)
from strict_backend import strict


def _inverse_sine(n=300, seed=0):
    return datasets.inverse_sine(n, random_state=seed)


def _output_columns(model, part):
    """The last layer's output columns of one part of the head's outputs."""
    K, D, S = model.head_.n_components, model.head_.n_dims, model.head_.n_scales
    a, b, c = K, K + K * D, K + K * D + K * S
    return {"logits": slice(0, a), "means": slice(a, b), "scales": slice(b, c)}[part]


def _set_output(model, part, values):
    """Make one part of every sample's outputs the constant ``values``: zero weights, bias."""
    W, b = model.network_.layers[-1].params
    columns = _output_columns(model, part)
    W[:, columns] = 0
    b[columns] = values


class _AtEpoch(Callback):
    """Calls ``action(model)`` at the end of one epoch, and records the weights after each."""

    def __init__(self, epoch, action):
        self.epoch, self.action, self.weights = epoch, action, []

    def on_epoch_end(self, model, epoch, logs):
        if epoch == self.epoch:
            self.action(model)
        self.weights.append(model.get_weights())
        return False


# --- divergence -------------------------------------------------------------------------------


@pytest.mark.parametrize("learning_rate, backend", [(1e3, "numpy"), (10.0, "numpy"),
                                                    (1.0, "numpy"), (1e3, strict)])
def test_a_diverging_fit_warns_with_the_epoch_and_a_remedy(learning_rate, backend):
    X, y = _inverse_sine()
    model = MDN(5, n_members=1, learning_rate=learning_rate, max_epochs=30, random_state=0, verbose=0,
                backend=backend)
    with np.errstate(all="ignore"), pytest.warns(DivergenceWarning) as record:
        model.fit(X, y)
    message = str(record[0].message)
    assert "diverged" in message and "epoch" in message
    assert "smaller learning_rate" in message and str(learning_rate) in message
    assert "one Gaussian fitted to the training targets" in message


def test_a_diverging_regressor_warns():
    X, y = _inverse_sine()
    with np.errstate(all="ignore"), pytest.warns(DivergenceWarning, match="predicting the mean"):
        Regressor(learning_rate=1e3, max_epochs=30, random_state=0, verbose=0).fit(X, y)


@pytest.mark.parametrize("make", [
    lambda: (MDN(5, n_members=1, max_epochs=200, random_state=0, verbose=0), _inverse_sine(300)),
    lambda: (MDN(5, n_members=1, max_epochs=1, random_state=0, verbose=0), _inverse_sine(300)),
    lambda: (MDN(10, n_members=1, max_epochs=100, random_state=1, verbose=0),
             datasets.heteroscedastic(300, random_state=0)),
    lambda: (MDN(2, n_members=1, covariance="full", max_epochs=50, random_state=0, verbose=0),
             datasets.robot_arm(300, random_state=0)[:2]),
    lambda: (Regressor(max_epochs=100, random_state=0, verbose=0), _inverse_sine(300)),
], ids=["mdn", "one-epoch", "heteroscedastic-K10", "full-2d", "regressor"])
def test_healthy_fits_do_not_warn(make):
    model, (X, y) = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        model.fit(X, y)


def test_a_unimodal_target_with_many_components_does_not_warn():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        MDN(10, n_members=1, max_epochs=300, random_state=0, verbose=0).fit(x, 2 * x + rng.normal(size=400))
        # raw units far from 1: the reference is in the same units as the curve
        MDN(3, n_members=1, max_epochs=100, random_state=0, verbose=0).fit(x * 1e4 + 5e5, 1e-4 * x)


@pytest.mark.parametrize("part, values, match", [
    ("scales", -60.0, "every scale is at its floor"),  # softplus(-60) ~ 1e-26
    ("logits", np.array([0.0, 60.0, 0.0]), "component 1 takes every training sample"),
], ids=["scales-at-floor", "one-component"])
def test_a_degenerate_final_model_warns(part, values, match):
    X, y = _inverse_sine()
    degenerate = _AtEpoch(4, lambda m: _set_output(m, part, values))
    model = MDN(3, n_members=1, max_epochs=5, learning_rate=1e-12, learning_rate_schedule="constant",
                random_state=0, verbose=0)
    with pytest.warns(DivergenceWarning, match=match):
        model.fit(X, y, callbacks=[degenerate])


def test_partial_fit_warns_too():
    X, y = _inverse_sine()
    model = MDN(3, n_members=1, learning_rate=1e3, random_state=0, verbose=0)
    with np.errstate(all="ignore"), pytest.warns(DivergenceWarning):
        for _ in range(5):
            model.partial_fit(X, y)


# --- non-finite losses: the kept weights must be usable -----------------------------------------


def _zero_scales(model):
    _set_output(model, "scales", -1e4)  # exp(-1e4) = 0: σ = 0 with min_scale = 0


@pytest.mark.parametrize("backend", ["numpy", strict])
def test_kept_weights_that_give_a_non_finite_loss_go_back_to_before_the_fit(backend):
    X, y = _inverse_sine()
    model = MDN(3, n_members=1, scale_activation="exp", min_scale=0.0, max_epochs=6, random_state=0,
                verbose=0, backend=backend)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError) as error:
        model.fit(X, y, callbacks=[_AtEpoch(2, _zero_scales)])
    assert error.value.usable
    assert "before this fit" in str(error.value)
    assert model.n_epochs_ == 0 and model.loss_curve_ == [] and model.learning_rate_curve_ == []
    assert np.isfinite(mdnlite.to_host(model.score_samples(X, y))).all()
    assert np.isfinite(mdnlite.to_host(model.predict(X))).all()


def test_a_warm_start_goes_back_to_the_previous_fit():
    X, y = _inverse_sine()
    model = MDN(3, n_members=1, scale_activation="exp", min_scale=0.0, max_epochs=4, random_state=0,
                verbose=0, warm_start=True).fit(X, y)
    weights, scores = model.get_weights(), model.score_samples(X, y)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError, match="before this fit"):
        model.fit(X, y, callbacks=[_AtEpoch(1, _zero_scales)])
    assert model.n_epochs_ == 4 == len(model.loss_curve_)
    np.testing.assert_array_equal(model.get_weights(), weights)
    np.testing.assert_array_equal(model.score_samples(X, y), scores)


def test_partial_fit_says_when_the_kept_weights_are_not_usable():
    X, y = _inverse_sine()
    model = MDN(3, n_members=1, scale_activation="exp", min_scale=0.0, random_state=0, verbose=0)
    model.partial_fit(X, y)
    _zero_scales(model)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError) as error:
        model.partial_fit(X, y)
    assert not error.value.usable
    assert "non-finite loss on some training samples too" in str(error.value)


def test_usable_kept_weights_give_finite_scores():
    X, y = _inverse_sine()
    model = MDN(2, n_members=1, scale_activation="exp", min_scale=0.0, optimizer="sgd",
                learning_rate=1e6, max_epochs=3, random_state=0, verbose=0)
    with np.errstate(all="ignore"), pytest.raises(NonFiniteLossError) as error:
        model.fit(X, y)
    assert error.value.usable
    assert np.isfinite(model.score_samples(X, y)).all()


# --- interrupts --------------------------------------------------------------------------------


class _Interrupt:
    """Replaces a model's loss so that its ``calls``-th call raises KeyboardInterrupt."""

    def __init__(self, model, calls):
        self.count, self.calls, self.forward = 0, calls, model.head_.loss_forward_t
        model.head_.loss_forward_t = self

    def __call__(self, z, y):
        self.count += 1
        if self.count == self.calls:
            raise KeyboardInterrupt
        return self.forward(z, y)


class _InstallInterrupt(Callback):
    """After epoch ``epoch``, arm an interrupt ``calls`` loss calls later."""

    def __init__(self, epoch, calls):
        self.epoch, self.calls, self.weights, self.iterations = epoch, calls, None, None

    def on_epoch_end(self, model, epoch, logs):
        if epoch == self.epoch:
            self.weights, self.iterations = model.get_weights(), model.optimizer_.iterations
            _Interrupt(model, self.calls)
        return False


@pytest.mark.parametrize("calls, backend", [(1, "numpy"), (3, "numpy"), (5, "numpy"),
                                            (3, strict)],
                         ids=["first-step", "mid-epoch", "validation", "mid-epoch-strict"])
def test_an_interrupt_undoes_the_epoch_in_progress(calls, backend):
    # 100 training rows in batches of 25: four steps, then one validation pass
    X, y = _inverse_sine(125)
    model = MDN(3, n_members=1, hidden_sizes=(8,), batch_size=25, max_epochs=10, random_state=0, verbose=0,
                backend=backend)
    armed = _InstallInterrupt(2, calls)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, validation_split=0.2, callbacks=[armed])
    assert model.n_epochs_ == 3 == len(model.loss_curve_) == len(model.validation_loss_curve_)
    assert len(model.learning_rate_curve_) == 3
    np.testing.assert_array_equal(mdnlite.to_host(model.get_weights()),
                                  mdnlite.to_host(armed.weights))
    assert model.optimizer_.iterations == armed.iterations
    assert np.isfinite(mdnlite.to_host(model.predict(X))).all()  # fitted: after-fit state


def test_an_interrupt_restores_the_best_weights_if_asked():
    X, y = _inverse_sine(200)
    model = MDN(3, n_members=1, hidden_sizes=(8,), batch_size=50, max_epochs=20, learning_rate=0.05,
                random_state=0, verbose=0)
    best = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    every = _AtEpoch(-1, lambda m: None)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[best, every, _InstallInterrupt(6, 2)])
    assert best.best_epoch is not None
    np.testing.assert_array_equal(model.get_weights(), every.weights[best.best_epoch])


def test_an_interrupted_partial_fit_keeps_the_weights_it_had():
    X, y = _inverse_sine(200)
    model = MDN(3, n_members=1, hidden_sizes=(8,), batch_size=50, random_state=0, verbose=0)
    model.partial_fit(X, y)
    weights = model.get_weights()
    _Interrupt(model, 3)
    with pytest.raises(KeyboardInterrupt):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.get_weights(), weights)
    assert model.n_epochs_ == 1 == len(model.loss_curve_)


# --- the Gaussian mixture near the float limits -------------------------------------------------


@pytest.mark.parametrize("scale, dtype", [(1e154, "float64"), (1e307, "float64"),
                                          (1e18, "float32")])
def test_gaussian_mixture_says_when_its_sums_of_squares_would_overflow(scale, dtype):
    X = np.random.default_rng(0).normal(size=(200, 2)) * scale
    with pytest.raises(ValueError, match="would overflow " + dtype) as error:
        GaussianMixture(2, dtype=dtype, random_state=0).fit(X)
    assert "rescale" in str(error.value) and "singular" not in str(error.value)
    assert ("dtype='float64'" in str(error.value)) == (dtype == "float32")


def test_gaussian_mixture_fits_large_values_that_do_not_overflow():
    X = np.random.default_rng(0).normal(size=(200, 2)) * 1e150
    model = GaussianMixture(2, random_state=0).fit(X)
    assert np.isfinite(model.means_).all()


# --- callbacks ---------------------------------------------------------------------------------


def test_one_callback_on_its_own_is_accepted():
    X, y = _inverse_sine(200)
    stop = EarlyStopping(monitor="loss", patience=0, patience_steps=0, min_delta=1e9)
    model = MDN(3, n_members=1, hidden_sizes=(8,), max_epochs=50, random_state=0, verbose=0)
    model.fit(X, y, callbacks=stop)
    assert stop.stopped_epoch == 1 and model.n_epochs_ == 2  # epoch 0 improves on inf


@pytest.mark.parametrize("callbacks", [object(), [object()], "loss"])
def test_things_that_are_not_callbacks_get_a_type_error(callbacks):
    X, y = _inverse_sine(50)
    model = MDN(2, n_members=1, hidden_sizes=(4,), max_epochs=1, random_state=0, verbose=0)
    with pytest.raises(TypeError, match="callbacks must be mdnlite.Callback"):
        model.fit(X, y, callbacks=callbacks)
    assert not hasattr(model, "network_")


def test_the_warning_class_is_exported():
    assert mdnlite.DivergenceWarning is DivergenceWarning
    assert issubclass(DivergenceWarning, UserWarning)
