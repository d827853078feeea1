"""Every bad input gets a clear ValueError or TypeError that names the argument.

Data (NaN, shapes, dtypes, feature counts), hyperparameters (checked by fit), methods called
before fit, a missing CuPy, and a loss that turns non-finite mid-training, after which the
model must keep its last finite weights.
"""

import copy
import sys

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, Callback, EarlyStopping, ReduceLROnPlateau, Regressor


@pytest.fixture(scope="module")
def tiny(tiny):
    """Smaller still than the shared settings: 4 hidden units, 2 epochs of batches of 32."""
    return dict(tiny, hidden_sizes=(4,), max_epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def fitted(tiny, make_data):
    """An MDN and a Regressor fitted on 2 features and 1 target dimension: only read."""
    X, y = make_data(60)
    return {"MDN": MDN(2, **tiny).fit(X, y), "Regressor": Regressor(**tiny).fit(X, y)}


def with_value(a, value, where=(3, 0)):
    a = np.array(a, dtype=float)
    a[where] = value
    return a


# --- data --------------------------------------------------------------------------------

BAD_VALUES = [np.nan, np.inf, -np.inf]


@pytest.mark.parametrize("cls", [MDN, Regressor])
@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("where", ["X", "y", "X_val", "y_val"])
def test_fit_refuses_nan_and_inf(cls, value, where, tiny, make_data):
    X, y = make_data(60)
    data = {"X": X, "y": y, "X_val": X[:20], "y_val": y[:20]}
    data[where] = with_value(data[where], value)
    name = where  # validation data is named as such
    with pytest.raises(ValueError, match=f"^{name} contains NaN or infinity \\(in 1 of"):
        cls(**tiny).fit(data["X"], data["y"], validation_data=(data["X_val"], data["y_val"]))
    if where in ("X", "y"):
        with pytest.raises(ValueError, match=f"^{name} contains NaN or infinity"):
            cls(**tiny).partial_fit(data["X"], data["y"])


@pytest.mark.parametrize("model", ["MDN", "Regressor"])
@pytest.mark.parametrize("value", BAD_VALUES)
def test_predict_and_score_refuse_nan_and_inf(fitted, model, value, make_data):
    est = fitted[model]
    X, y = make_data(10)
    bad_X, bad_y = with_value(X, value), with_value(y, value)
    methods = ["predict"] + (["predict_variance", "predict_mode", "predict_mixture", "sample"]
                             if model == "MDN" else [])
    for method in methods:
        with pytest.raises(ValueError, match="^X contains NaN or infinity"):
            getattr(est, method)(bad_X)
    for method in ("score", "score_samples"):
        with pytest.raises(ValueError, match="^X contains NaN or infinity"):
            getattr(est, method)(bad_X, y)
        with pytest.raises(ValueError, match="^y contains NaN or infinity"):
            getattr(est, method)(X, bad_y)


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_mismatched_lengths(cls, fitted, tiny, make_data):
    X, y = make_data(60)
    message = "X and y must have the same number of samples, got 60 and 59"
    with pytest.raises(ValueError, match=message):
        cls(**tiny).fit(X, y[:-1])
    with pytest.raises(ValueError, match=message):
        cls(**tiny).partial_fit(X, y[:-1])
    with pytest.raises(ValueError, match="same number of samples, got 20 and 19"):
        cls(**tiny).fit(X, y, validation_data=(X[:20], y[:19]))
    with pytest.raises(ValueError, match=message):
        fitted[cls.__name__].score(X, y[:-1])


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_wrong_number_of_dimensions(cls, fitted, tiny, make_data):
    X, y = make_data(60)
    with pytest.raises(ValueError, match=r"X must be 1-D \(N,\) or 2-D .* got shape \(60, 2, 1\)"):
        cls(**tiny).fit(X[:, :, None], y)
    with pytest.raises(ValueError, match=r"y must be 1-D \(N,\) or 2-D"):
        cls(**tiny).fit(X, y[:, :, None])
    with pytest.raises(ValueError, match=r"X must be 1-D \(N,\) or 2-D .* got shape \(\)"):
        cls(**tiny).fit(3.0, 1.0)
    with pytest.raises(ValueError, match=r"X must be 1-D \(N,\) or 2-D"):
        fitted[cls.__name__].predict(X[:, :, None])


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_empty_data(cls, fitted, tiny):
    # scikit-learn's wording (its check_estimator matches it), then the argument's name
    with pytest.raises(ValueError, match=r"^Found array with 0 sample\(s\) \(shape=\(0, 2\)\) "
                                         r"while a minimum of 1 is required: X is empty"):
        cls(**tiny).fit(np.empty((0, 2)), np.empty(0))
    with pytest.raises(ValueError, match="X is empty"):
        cls(**tiny).fit([], [])
    with pytest.raises(ValueError, match="y is empty"):
        cls(**tiny).fit(np.ones((5, 2)), np.empty((0, 1)))
    with pytest.raises(ValueError, match=r"^Found array with 0 feature\(s\) \(shape=\(5, 0\)\) "
                                         r"while a minimum of 1 is required: X has no features"):
        cls(**tiny).fit(np.ones((5, 0)), np.ones(5))
    with pytest.raises(ValueError, match=r"\(shape=\(5, 0\)\).*y has no features"):
        cls(**tiny).fit(np.ones((5, 2)), np.ones((5, 0)))
    with pytest.raises(ValueError, match="X is empty"):
        fitted[cls.__name__].predict(np.empty((0, 2)))


NON_NUMERIC = {
    "strings": np.array([["a", "b"]] * 4),
    "numeric strings": [["1.0", "2.0"]] * 4,
    "bool": np.ones((4, 2), dtype=bool),
}


@pytest.mark.parametrize("kind", list(NON_NUMERIC))
@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_non_numeric_data(cls, kind, fitted, tiny):
    bad = NON_NUMERIC[kind]
    good = np.ones((4, 2))
    with pytest.raises(TypeError, match="^X must hold real numbers, got dtype"):
        cls(**tiny).fit(bad, np.ones(4))
    with pytest.raises(TypeError, match="^y must hold real numbers, got dtype"):
        cls(**tiny).fit(good, bad)
    with pytest.raises(TypeError, match="^X must hold real numbers"):
        fitted[cls.__name__].predict(bad)
    with pytest.raises(TypeError, match="^y must hold real numbers"):
        fitted[cls.__name__].score(good, np.asarray(bad)[:, :1])


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_objects_complex_and_sparse_data(cls, fitted, tiny):
    # numbers held as objects are numbers (as in scikit-learn); other objects are refused
    # with NumPy's own reason
    model = cls(**tiny).fit(np.ones((4, 2), dtype=object), np.arange(4.0).astype(object))
    assert model.predict(np.ones((3, 2), dtype=object)).shape == (3,)
    objects = np.ones((4, 2), dtype=object)
    objects[0, 1] = {"a": 1}
    with pytest.raises(ValueError, match="^X contains NaN"):  # None converts to NaN
        cls(**tiny).fit(np.array([[1.0, None]] * 4, dtype=object), np.ones(4))
    with pytest.raises(TypeError, match="^X must hold real numbers; converting its objects "
                                        "failed: .*argument must be .*string.* number"):
        cls(**tiny).fit(objects, np.ones(4))
    with pytest.raises(TypeError, match="^y must hold real numbers; converting"):
        fitted[cls.__name__].score(np.ones((4, 2)), objects[:, 1])
    with pytest.raises(ValueError, match="^Complex data not supported: X has dtype complex128"):
        cls(**tiny).fit(np.ones((4, 2), dtype=complex), np.ones(4))
    with pytest.raises(ValueError, match="^Complex data not supported: y"):
        cls(**tiny).fit(np.ones((4, 2)), np.ones(4) + 1j)
    sparse = pytest.importorskip("scipy.sparse")
    for make in (sparse.csr_matrix, sparse.csr_array, sparse.coo_matrix):
        with pytest.raises(TypeError, match="^X is a sparse matrix: sparse input is not "
                                            r"supported; convert it with X.toarray\(\)"):
            cls(**tiny).fit(make(np.ones((4, 2))), np.ones(4))
        with pytest.raises(TypeError, match="sparse input is not supported"):
            fitted[cls.__name__].predict(make(np.ones((4, 2))))


def test_integer_and_list_data_are_accepted(tiny, make_data):
    # the control for the refusals above: real numbers in any integer or float dtype pass
    X, y = make_data(60)
    ref = MDN(2, **tiny).fit(X, y)
    np.testing.assert_array_equal(MDN(2, **tiny).fit(X.tolist(), y.tolist()).get_weights(),
                                  ref.get_weights())
    # float32 data: the statistics of the rounded data differ in the last bits, no more
    single = MDN(2, **tiny).fit(X.astype(np.float32), y.astype(np.float32))
    np.testing.assert_allclose(single.get_weights(), ref.get_weights(), rtol=1e-5, atol=1e-6)
    ints = np.arange(60).reshape(30, 2) % 7
    assert MDN(2, **tiny).fit(ints, np.arange(30, dtype=np.int64) % 3).n_epochs_ == 2
    assert MDN(2, **tiny).fit(ints.astype(np.uint8), ints[:, 0]).n_epochs_ == 2


# --- hyperparameters, checked when fit starts --------------------------------------------

BAD_PARAMS = [
    (MDN, dict(n_components=0), ValueError, "n_components must be an integer >= 1, got 0"),
    (MDN, dict(n_components=-2), ValueError, "n_components must be an integer >= 1"),
    (MDN, dict(n_components=2.5), TypeError, "n_components must be an integer, got 2.5"),
    (MDN, dict(n_components=2.0), TypeError, "n_components must be an integer"),
    (MDN, dict(n_components="3"), TypeError, "n_components must be an integer"),
    (MDN, dict(n_components=True), TypeError, "n_components must be an integer"),
    (MDN, dict(n_components=None), TypeError, "n_components must be an integer"),
    (MDN, dict(covariance="spherical"), ValueError, "covariance must be one of .* got 'spherical'"),
    (MDN, dict(scale_activation="relu"), ValueError, "scale_activation must be one of"),
    (MDN, dict(min_scale=-0.1), ValueError, "min_scale must be a finite number >= 0"),
    (MDN, dict(min_scale=np.inf), ValueError, "min_scale must be a finite number >= 0"),
    (MDN, dict(min_scale=np.nan), ValueError, "min_scale must be a finite number >= 0"),
    (Regressor, dict(activation="swish"), ValueError, "activation must be one of .* 'swish'"),
    (MDN, dict(activation=None), ValueError, "activation must be one of"),
    (MDN, dict(optimizer="lbfgs"), ValueError, "optimizer must be one of .* 'lbfgs'"),
    (Regressor, dict(optimizer="Adam"), ValueError, "optimizer must be one of"),
    (MDN, dict(learning_rate=0.0), ValueError, "learning_rate must be a finite number > 0"),
    (MDN, dict(learning_rate=-1e-3), ValueError, "learning_rate must be a finite number > 0"),
    (MDN, dict(learning_rate=np.inf), ValueError, "learning_rate must be a finite number > 0"),
    (Regressor, dict(learning_rate=np.nan), ValueError, "learning_rate must be a finite"),
    (MDN, dict(weight_decay=-1.0), ValueError, "weight_decay must be a finite number >= 0"),
    (MDN, dict(weight_decay=np.inf), ValueError, "weight_decay must be a finite number >= 0"),
    (MDN, dict(clip_norm=0.0), ValueError, "clip_norm must be a finite number > 0"),
    (MDN, dict(max_epochs=0), ValueError, "max_epochs must be an integer >= 1, got 0"),
    (Regressor, dict(max_epochs=-3), ValueError, "max_epochs must be an integer >= 1"),
    (MDN, dict(max_epochs=2.5), TypeError, "max_epochs must be an integer, got 2.5"),
    (MDN, dict(batch_size=0), ValueError, "batch_size must be an integer >= 1, got 0"),
    (Regressor, dict(batch_size=32.0), TypeError, "batch_size must be an integer"),
    (MDN, dict(hidden_sizes=(8, 0)), ValueError, "hidden_sizes entries must be an integer >= 1"),
    (MDN, dict(hidden_sizes=(8, 2.5)), TypeError, "hidden_sizes entries must be an integer"),
    (Regressor, dict(hidden_sizes=-1), ValueError, "hidden_sizes entries must be an integer >= 1"),
    (MDN, dict(dtype="float16"), TypeError, "dtype must be float32 or float64"),
    (Regressor, dict(dtype=np.int32), TypeError, "dtype must be float32 or float64"),
    (MDN, dict(backend="torch"), ValueError, "backend must be 'numpy', 'cupy' or 'auto'"),
    (Regressor, dict(backend=3), TypeError, "backend must be"),
]


@pytest.mark.parametrize("cls, params, error, match", BAD_PARAMS,
                         ids=[f"{c.__name__}-{next(iter(p))}={p[next(iter(p))]!r}"
                              for c, p, _, _ in BAD_PARAMS])
def test_bad_hyperparameters(cls, params, error, match, tiny, make_data):
    X, y = make_data(60)
    model = cls(**dict(tiny, **params))  # stored without complaint ...
    with pytest.raises(error, match=match):
        model.fit(X, y)  # ... and refused by fit
    assert not hasattr(model, "network_")
    with pytest.raises(error, match=match):
        cls(**dict(tiny, **params)).partial_fit(X, y)


@pytest.mark.parametrize("split, error, match", [
    (1.0, ValueError, r"validation_split must be in \[0, 1\), got 1.0"),
    (-0.1, ValueError, r"validation_split must be in \[0, 1\), got -0.1"),
    (1.5, ValueError, r"validation_split must be in \[0, 1\)"),
    (np.nan, ValueError, r"validation_split must be in \[0, 1\)"),
    ("0.2", TypeError, r"validation_split must be a number, got '0.2'"),
    (True, TypeError, r"validation_split must be a number"),
    (0.001, ValueError, "validation_split=0.001 leaves no training or no validation samples "
                        "out of 60"),
])
def test_bad_validation_split(split, error, match, tiny, make_data):
    X, y = make_data(60)
    with pytest.raises(error, match=match):
        MDN(2, **tiny).fit(X, y, validation_split=split)


def test_bad_validation_data(fitted, tiny, make_data):
    X, y = make_data(60)
    with pytest.raises(ValueError, match=r"validation_data must be a pair \(X_val, y_val\)"):
        MDN(2, **tiny).fit(X, y, validation_data=(X,))
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        MDN(2, **tiny).fit(X, y, validation_data=(X, y, y))
    with pytest.raises(ValueError, match="X_val has 3 features, but MDN is expecting 2 features"):
        MDN(2, **tiny).fit(X, y, validation_data=(np.ones((5, 3)), np.ones(5)))
    with pytest.raises(ValueError, match="y_val has 2 target dimensions, but Regressor is "
                                         "expecting 1"):
        Regressor(**tiny).fit(X, y, validation_data=(X, np.ones((60, 2))))


# --- before fit --------------------------------------------------------------------------

BEFORE_FIT = [
    pytest.param("MDN", "predict", 1),
    pytest.param("MDN", "predict_variance", 1),
    pytest.param("MDN", "predict_mode", 1),
    pytest.param("MDN", "predict_mixture", 1),
    pytest.param("MDN", "sample", 1),
    ("MDN", "score", 2),
    ("MDN", "score_samples", 2),
    ("MDN", "get_weights", 0),
    ("MDN", "set_weights", "weights"),
    ("MDN", "save", "path"),
    ("Regressor", "predict", 1),
    ("Regressor", "score", 2),
    ("Regressor", "score_samples", 2),
    ("Regressor", "get_weights", 0),
    ("Regressor", "set_weights", "weights"),
    ("Regressor", "save", "path"),
]


@pytest.mark.parametrize("model, method, args", BEFORE_FIT)
def test_methods_before_fit(model, method, args, tmp_path, make_data):
    est = {"MDN": MDN(2), "Regressor": Regressor()}[model]
    X, y = make_data(5)
    if args == "weights":
        args = (np.zeros(10),)
    elif args == "path":
        args = (tmp_path / "m.npz",)
    else:
        args = (X, y)[:args]
    with pytest.raises(mdnlite.NotFittedError,
                       match=f"this {model} is not fitted yet: call fit first"):
        getattr(est, method)(*args)
    assert issubclass(mdnlite.NotFittedError, ValueError)


# --- data that does not fit the fitted model ---------------------------------------------

@pytest.mark.parametrize("model", ["MDN", "Regressor"])
def test_other_number_of_features(fitted, model, make_data):
    est = fitted[model]
    X3, y = np.ones((5, 3)), np.ones(5)
    message = f"^X has 3 features, but {model} is expecting 2 features as input"
    methods = ["predict"] + (["predict_variance", "predict_mode", "predict_mixture", "sample"]
                             if model == "MDN" else [])
    for method in methods:
        with pytest.raises(ValueError, match=message):
            getattr(est, method)(X3)
    # scikit-learn's wording (its check_estimator matches it), with the reason
    with pytest.raises(ValueError, match=f"^X has 1 features, but {model} is expecting 2 "
                                         "features as input. Reshape your data if X holds one "
                                         "sample a row: a 1-D X is read as one feature"):
        est.predict(np.ones(5))
    for method in ("score", "score_samples", "partial_fit"):
        with pytest.raises(ValueError, match=message):
            getattr(est, method)(X3, y)
    warm = type(est)(**dict(est.get_params(), warm_start=True)).fit(*make_data(60))
    with pytest.raises(ValueError, match=message):
        warm.fit(X3, y)


@pytest.mark.parametrize("model", ["MDN", "Regressor"])
def test_other_number_of_target_dimensions(fitted, model):
    est = fitted[model]
    X, y2 = np.ones((5, 2)), np.ones((5, 2))
    message = f"^y has 2 target dimensions, but {model} is expecting 1"
    for method in ("score", "score_samples", "partial_fit"):
        with pytest.raises(ValueError, match=message):
            getattr(est, method)(X, y2)


def test_bad_weights_and_sampling_arguments(fitted):
    est = fitted["MDN"]
    n = est.get_weights().size
    with pytest.raises(ValueError, match=rf"weights must have shape \({n},\), got \({n + 1},\)"):
        est.set_weights(np.zeros(n + 1))
    X = np.ones((3, 2))
    for n_samples in (0, -1):
        with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
            est.sample(X, n_samples=n_samples)
    for n_samples in (2.5, True):
        with pytest.raises(TypeError, match="n_samples must be an integer"):
            est.sample(X, n_samples=n_samples)
    for temperature in (-1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="^temperature must be a finite number >= 0"):
            est.sample(X, temperature=temperature)
        with pytest.raises(ValueError, match="^sigma_temperature must be a finite number >= 0"):
            est.sample(X, sigma_temperature=temperature)


# --- a missing CuPy ----------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_cupy_backend_without_cupy(cls, monkeypatch, tmp_path, fitted, tiny, make_data):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    X, y = make_data(60)
    with pytest.raises(mdnlite.BackendUnavailableError, match="backend='cupy' needs CuPy.*"
                                                              "pip install cupy-cuda12x"):
        cls(**dict(tiny, backend="cupy")).fit(X, y)
    path = fitted[cls.__name__].save(tmp_path / "m.npz")
    with pytest.raises(mdnlite.BackendUnavailableError, match="pip install cupy"):
        mdnlite.load(path, backend="cupy")
    # "auto" falls back to NumPy
    model = cls(**dict(tiny, backend="auto")).fit(X, y)
    assert type(model.predict(X)) is np.ndarray


# --- a loss that turns non-finite --------------------------------------------------------

class Recorder(Callback):
    """Records the weights and optimizer state at the start and after every epoch."""

    def __init__(self, boost_after=None):
        self.boost_after = boost_after
        self.weights, self.iterations, self.states = [], [], []

    def on_train_begin(self, model):
        self.initial = model.get_weights()

    def on_epoch_end(self, model, epoch, logs):
        opt = model.optimizer_
        self.weights.append(model.get_weights())
        self.iterations.append(opt.iterations)
        self.states.append({k: [a.copy() for a in v] for k, v in (opt.state or {}).items()})
        if epoch == self.boost_after:
            opt.learning_rate = 1e6  # exp scales: the next steps overflow to inf, then NaN
        return False


def diverging_mdn(tiny, **params):
    # exp scale activation without a floor: a 1e6 step sends some scale to exp(±1e6) = inf or 0
    return MDN(2, **dict(dict(tiny, scale_activation="exp", min_scale=0.0, max_epochs=6,
                              batch_size=20), **params))


def test_nonfinite_loss_in_the_first_epoch_keeps_the_initial_weights(tiny, make_data):
    X, y = make_data(100)
    rec = Recorder()
    model = diverging_mdn(tiny, optimizer="sgd", learning_rate=1e6)
    with np.errstate(all="ignore"), \
            pytest.raises(mdnlite.NonFiniteLossError,
                          match=r"training loss became (nan|inf|-inf) in epoch 0.*"
                                r"smaller learning_rate"):
        model.fit(X, y, callbacks=[rec])
    assert issubclass(mdnlite.NonFiniteLossError, ArithmeticError)
    assert rec.weights == [] and model.n_epochs_ == 0 and model.loss_curve_ == []
    np.testing.assert_array_equal(model.get_weights(), rec.initial)
    assert model.optimizer_.iterations == 0 and model.optimizer_.state is None


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_nonfinite_loss_mid_training_keeps_the_last_finite_epoch(optimizer, tiny, make_data):
    X, y = make_data(100)
    rec = Recorder(boost_after=2)
    model = diverging_mdn(tiny, optimizer=optimizer, learning_rate=0.01)
    with np.errstate(all="ignore"), \
            pytest.raises(mdnlite.NonFiniteLossError,
                          match=r"in epoch 3; the model keeps the weights it had after epoch 2"):
        model.fit(X, y, validation_split=0.2, callbacks=[rec])
    assert len(rec.weights) == model.n_epochs_ == len(model.loss_curve_) == 3
    assert len(model.validation_loss_curve_) == 3 and np.isfinite(model.loss_curve_).all()
    weights = model.get_weights()
    assert np.isfinite(weights).all()
    np.testing.assert_array_equal(weights, rec.weights[2])
    assert model.optimizer_.iterations == rec.iterations[2]
    state = model.optimizer_.state or {}
    assert sorted(state) == sorted(rec.states[2])
    for name, arrays in rec.states[2].items():
        for kept, recorded in zip(state[name], arrays):
            np.testing.assert_array_equal(kept, recorded)
    # the model is usable as it was after epoch 2
    assert np.isfinite(model.predict(X)).all() and np.isfinite(model.score(X, y))


def test_nonfinite_loss_in_partial_fit(tiny, make_data):
    X, y = make_data(100)
    model = diverging_mdn(tiny, optimizer="adam", learning_rate=0.01)
    model.partial_fit(X, y).partial_fit(X, y)
    kept = model.get_weights()
    model.optimizer_.learning_rate = 1e6
    with np.errstate(all="ignore"), pytest.raises(mdnlite.NonFiniteLossError, match="epoch 2"):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.get_weights(), kept)
    assert model.n_epochs_ == 2 and model.optimizer_.iterations == 2 * 5


def test_nonfinite_regressor(tiny, make_data):
    X, y = make_data(100)
    model = Regressor(**dict(tiny, optimizer="sgd", learning_rate=1e6, batch_size=20))
    rec = Recorder()
    with np.errstate(all="ignore"), pytest.raises(mdnlite.NonFiniteLossError, match="epoch 0"):
        model.fit(X, y, callbacks=[rec])
    np.testing.assert_array_equal(model.get_weights(), rec.initial)


# --- known gaps: each should pass once mdnlite names the argument ------------------------

@pytest.mark.parametrize("call, name", [
    pytest.param(lambda mdn, X, y: mdn(learning_rate="0.01").fit(X, y), "learning_rate"),
    pytest.param(lambda mdn, X, y: mdn(learning_rate=None).fit(X, y), "learning_rate"),
    pytest.param(lambda mdn, X, y: mdn(weight_decay="0").fit(X, y), "weight_decay"),
    pytest.param(lambda mdn, X, y: mdn(clip_norm="1").fit(X, y), "clip_norm"),
    pytest.param(lambda mdn, X, y: mdn(min_scale="0.1").fit(X, y), "min_scale"),
    pytest.param(lambda mdn, X, y: mdn(random_state="seed").fit(X, y), "random_state"),
    pytest.param(lambda mdn, X, y: mdn(random_state=-1).fit(X, y), "random_state"),
    pytest.param(lambda mdn, X, y: mdn().fit(X, y, validation_data=5),
                 "validation_data"),
    pytest.param(lambda mdn, X, y: EarlyStopping(min_delta="0"), "min_delta"),
    pytest.param(lambda mdn, X, y: EarlyStopping(patience=None), "patience"),
    pytest.param(lambda mdn, X, y: EarlyStopping(patience_steps=2.5), "patience_steps"),
    pytest.param(lambda mdn, X, y: ReduceLROnPlateau(factor="0.5"), "factor"),
    pytest.param(lambda mdn, X, y: ReduceLROnPlateau(min_lr=None), "min_lr"),
], ids=["learning_rate-str", "learning_rate-None", "weight_decay-str", "clip_norm-str",
        "min_scale-str", "random_state-str", "random_state-negative", "validation_data-int",
        "EarlyStopping-min_delta-str", "EarlyStopping-patience-None",
        "EarlyStopping-patience_steps-float",
        "ReduceLROnPlateau-factor-str", "ReduceLROnPlateau-min_lr-None"])
def test_non_numeric_arguments_are_named(call, name, tiny, make_data):
    X, y = make_data(60)
    with pytest.raises((TypeError, ValueError), match=name):
        call(lambda **params: MDN(2, **dict(tiny, **params)), X, y)


@pytest.mark.parametrize("bad", [dict(validation_data=(np.ones((5, 3)), np.ones(5))),
                                 dict(validation_split=0.001)])
def test_a_refused_fit_leaves_a_fitted_model_unchanged(bad, fitted, make_data):
    X, y = make_data(60)
    model = copy.deepcopy(fitted["MDN"])  # the test tries to change it
    weights, curve = model.get_weights(), list(model.loss_curve_)
    with pytest.raises(ValueError):
        model.fit(X, y, **bad)
    np.testing.assert_array_equal(model.get_weights(), weights)
    assert model.loss_curve_ == curve


def test_a_fit_refused_for_bad_data_leaves_a_fitted_model_unchanged(fitted, make_data):
    X, y = make_data(60)
    model = copy.deepcopy(fitted["MDN"])  # the test tries to change it
    weights, curve = model.get_weights(), list(model.loss_curve_)
    for bad in (dict(X=with_value(X, np.nan), y=y), dict(X=X, y=y[:-1]),
                dict(X=X, y=y, validation_data=(X, y), validation_split=0.5)):
        with pytest.raises(ValueError):
            model.fit(**bad)
    np.testing.assert_array_equal(model.get_weights(), weights)
    assert model.loss_curve_ == curve and model.n_epochs_ == 2


def test_first_epoch_divergence_message_makes_sense(tiny, make_data):
    X, y = make_data(100)
    with np.errstate(all="ignore"), pytest.raises(mdnlite.NonFiniteLossError) as info:
        diverging_mdn(tiny, optimizer="sgd", learning_rate=1e6).fit(X, y)
    assert "epoch -1" not in str(info.value)



@pytest.mark.parametrize("method, where", [
    pytest.param("fit", "X"),
    pytest.param("fit", "y"),
    pytest.param("partial_fit", "X"),
    pytest.param("partial_fit", "y"),
    ("predict", "X"),
    ("score", "X"),
    ("score", "y"),
])
def test_values_that_overflow_float32_are_refused(fitted, method, where, tiny, make_data):
    X, y = make_data(60)
    data = {"X": X, "y": y}
    data[where] = with_value(data[where], 1e300)  # finite in float64, inf in float32
    if method == "predict":
        call = lambda: fitted["MDN"].predict(data["X"])  # noqa: E731
    elif method == "score":
        call = lambda: fitted["MDN"].score(data["X"], data["y"])  # noqa: E731
    else:
        call = lambda: getattr(MDN(2, **tiny), method)(data["X"], data["y"])  # noqa: E731
    with np.errstate(all="ignore"), \
            pytest.raises(ValueError, match=f"^{where} has values too large for float32"):
        call()
