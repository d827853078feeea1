"""Saving and loading: an exact round trip, an atomic write, a pickle-free file, clear errors.

A loaded model must be the saved one in every observable way, including how it goes on
training; a file that is missing, cut short, random, modified or of another version must give
a ``ModelFileError`` that says which.
"""

import gc
import json
import os
import warnings

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, ModelFileError, ReduceLROnPlateau, Regressor
from mdnlite import io as mdn_io
from model_files import read_npz, reseal, with_meta, write_npz


@pytest.fixture
def fitted(make_data):
    """``fitted(cls, d=1, **params)``: a small model fitted for the test that asks, to train on;
    no fixed seed, so only the saved generator state can make a loaded copy train on exactly
    like the original. (Tests that only save or read a model take conftest's small_models.)"""
    def fit(cls, d=1, **params):
        X, y = make_data(d=d)
        kwargs = dict(hidden_sizes=(6, 5), max_epochs=3, batch_size=32, random_state=None)
        if cls is MDN:
            kwargs.update(n_components=3)
        kwargs.update(params)
        return cls(**kwargs).fit(X, y, validation_split=0.25)
    return fit


def assert_same_model(a, b, X, y):
    assert type(a) is type(b)
    np.testing.assert_array_equal(a.get_weights(), b.get_weights())
    assert a.get_weights().dtype == b.get_weights().dtype
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.score_samples(X, y), b.score_samples(X, y))
    assert (a.n_features_in_, a.n_targets_, a.n_epochs_) == (b.n_features_in_, b.n_targets_,
                                                             b.n_epochs_)
    assert a.loss_curve_ == b.loss_curve_
    assert a.validation_loss_curve_ == b.validation_loss_curve_
    opt_a, opt_b = a.optimizer_, b.optimizer_
    assert type(opt_a) is type(opt_b)
    assert (opt_a.learning_rate, opt_a.iterations) == (opt_b.learning_rate, opt_b.iterations)
    assert sorted(opt_a.state or {}) == sorted(opt_b.state or {})
    for name in opt_a.state or {}:
        assert len(opt_a.state[name]) == len(opt_b.state[name])
        for u, v in zip(opt_a.state[name], opt_b.state[name]):
            np.testing.assert_array_equal(u, v)
    if isinstance(a, MDN):
        for u, v in zip(a.predict_mixture(X), b.predict_mixture(X)):
            np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(a.sample(X, 3, random_state=0),
                                      b.sample(X, 3, random_state=0))
    else:
        np.testing.assert_array_equal(a.noise_variance_, b.noise_variance_)


def without_tuples(params):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


# --- the round trip -----------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_round_trip_is_exact_and_trains_on_identically(tmp_path, cls, d, fitted, make_data):
    model = fitted(cls, d=d)
    path = tmp_path / "model.npz"
    assert model.save(path) == str(path)
    loaded = mdnlite.load(path)
    X, y = make_data(40, d=d, seed=1)
    assert_same_model(loaded, model, X, y)
    assert without_tuples(loaded.get_params()) == without_tuples(model.get_params())
    X_train, y_train = make_data(d=d, seed=2)
    for _ in range(2):  # Adam's moments, its step count and the shuffling generator all carry
        model.partial_fit(X_train, y_train)
        loaded.partial_fit(X_train, y_train)
    assert_same_model(loaded, model, X, y)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop"])
def test_other_optimizers_and_float64_round_trip(tmp_path, optimizer, fitted, make_data):
    model = fitted(MDN, d=2, optimizer=optimizer, dtype="float64", covariance="isotropic",
                   scale_activation="elu1", min_scale=0.02, learning_rate=0.01)
    model.save(tmp_path / "m.npz")
    loaded = mdnlite.load(tmp_path / "m.npz")
    assert loaded.get_weights().dtype == np.float64
    assert (loaded.covariance, loaded.scale_activation, loaded.min_scale) == ("isotropic",
                                                                              "elu1", 0.02)
    X, y = make_data(40, d=2, seed=1)
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_model(loaded, model, X, y)


def test_warm_start_fit_continues_identically_after_loading(tmp_path, fitted, make_data):
    model = fitted(Regressor, warm_start=True)
    model.save(tmp_path / "m.npz")
    loaded = mdnlite.load(tmp_path / "m.npz")
    X, y = make_data(seed=3)
    model.fit(X, y)
    loaded.fit(X, y)
    assert loaded.n_epochs_ == 6
    assert_same_model(loaded, model, X, y)


def test_a_reduced_learning_rate_survives(tmp_path, make_data):
    X, y = make_data()
    plateau = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=1e3)
    model = MDN(2, hidden_sizes=(4,), learning_rate=1e-3, max_epochs=4, random_state=0,
                learning_rate_schedule="constant")
    model.fit(X, y, callbacks=[plateau])
    assert model.optimizer_.learning_rate == pytest.approx(1.25e-4, rel=1e-12)
    model.save(tmp_path / "m.npz")
    loaded = mdnlite.load(tmp_path / "m.npz")
    assert loaded.optimizer_.learning_rate == model.optimizer_.learning_rate
    assert loaded.learning_rate == 1e-3  # the constructor argument is the original one


def test_loaded_params_equal_the_saved_ones(tmp_path, small_models):
    model = small_models["MDN"]
    model.save(tmp_path / "m.npz")
    assert mdnlite.load(tmp_path / "m.npz").get_params() == model.get_params()


def test_saves_to_exactly_the_given_name(tmp_path, small_models, fitted, make_data):
    model = small_models["Regressor"]
    path = str(tmp_path / "model.bin")
    assert model.save(path) == path
    assert os.listdir(tmp_path) == ["model.bin"]  # no ".npz" appended, no temporary left
    X, y = make_data(20, seed=1)
    np.testing.assert_array_equal(mdnlite.load(path).predict(X), model.predict(X))
    second = fitted(Regressor)  # another model
    second.save(path)  # overwrites
    np.testing.assert_array_equal(mdnlite.load(path).predict(X), second.predict(X))


# --- the file format ----------------------------------------------------------------------

def test_the_file_is_plain_arrays_readable_without_pickle(tmp_path, fitted):
    path = tmp_path / "m.npz"
    model = fitted(MDN, d=2)
    model.save(path)
    arrays = read_npz(path)  # allow_pickle=False
    assert {"meta", "digest", "params"} <= set(arrays)
    assert all(a.dtype.kind != "O" for a in arrays.values())
    np.testing.assert_array_equal(arrays["params"], model.get_weights())
    meta = json.loads(str(arrays["meta"]))
    assert meta["format"] == "mdnlite-model"
    assert meta["format_version"] == mdn_io.FORMAT_VERSION == 1
    assert meta["class"] == "MDN" and meta["params"]["n_components"] == 3


def test_load_never_unpickles(tmp_path):
    # np.savez pickles object arrays; loading one must fail before anything is unpickled
    sentinel = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(sentinel),))

    path = tmp_path / "evil.npz"
    payload = np.empty(1, dtype=object)
    payload[0] = Payload()
    np.savez(path, meta=payload, digest=np.array("x"), params=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a readable mdnlite model file"):
        mdnlite.load(path)
    assert not sentinel.exists()


# --- atomic writes ------------------------------------------------------------------------

@pytest.mark.parametrize("crash", [OSError("disk full"), KeyboardInterrupt()])
def test_a_crash_mid_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, crash,
                                                               small_models, make_data):
    path = tmp_path / "model.npz"
    old = small_models["MDN"]
    old.save(path)
    before = path.read_bytes()

    def savez_then_crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise crash

    monkeypatch.setattr(mdn_io.np, "savez", savez_then_crash)
    with pytest.raises(type(crash)):
        old.save(path)
    with pytest.raises(type(crash)):
        old.save(tmp_path / "new.npz")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]
    X, y = make_data(20, seed=1)
    np.testing.assert_array_equal(mdnlite.load(path).predict(X), old.predict(X))


# --- errors -------------------------------------------------------------------------------

def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
    assert mdnlite.ModelFileError is mdn_io.ModelFileError


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no model file at .*missing.npz"):
        mdnlite.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "empty"])
def test_unreadable_files(tmp_path, damage, small_models):
    path = tmp_path / "m.npz"
    small_models["MDN"].save(path)
    data = path.read_bytes()
    if damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "random bytes":
        data = np.random.default_rng(0).bytes(len(data))
    else:
        data = b""
    path.write_bytes(data)
    with warnings.catch_warnings():
        # numpy leaves the handle of a broken zip open (see test_a_failed_load_closes_the_file)
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(ModelFileError, match="is not a readable mdnlite model file"):
            mdnlite.load(path)
        gc.collect()


def _open_files():
    return {os.path.realpath(os.readlink(f"/proc/self/fd/{fd}"))
            for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
def test_a_failed_load_closes_the_file(tmp_path, small_models):
    path = tmp_path / "m.npz"
    small_models["MDN"].save(path)
    path.write_bytes(path.read_bytes()[:200])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(ModelFileError) as info:
            mdnlite.load(path)
        still_open = str(path.resolve()) in _open_files()  # while the error is in hand
        del info
        gc.collect()
    assert not still_open


@pytest.mark.parametrize("key", ["params", "optimizer.v.0", "noise_variance", "meta"])
def test_a_modified_file_fails_its_checksum(tmp_path, key, small_models):
    path = tmp_path / "m.npz"
    small_models["Regressor"].save(path)
    arrays = read_npz(path)
    if key == "meta":
        arrays = with_meta(arrays, lambda meta: meta["state"]["loss_curve"].__setitem__(0, 0.0))
    else:
        changed = arrays[key].copy()
        changed.flat[-1] = np.nextafter(changed.flat[-1], np.inf)  # one ulp in one number
        arrays[key] = changed
    keys = sorted(arrays)
    write_npz(path, arrays)
    assert sorted(read_npz(path)) == keys
    with pytest.raises(ModelFileError, match="modified or corrupted.*checksum does not match"):
        mdnlite.load(path)


def test_wrong_format_version(tmp_path, small_models, make_data):
    path = tmp_path / "m.npz"
    model = small_models["MDN"]
    model.save(path)
    arrays = read_npz(path)
    # control: the same rewrite with the right version and a fresh digest loads fine
    write_npz(path, reseal(with_meta(dict(arrays), lambda m: m.update(format_version=1))))
    X, y = make_data(10, seed=1)
    np.testing.assert_array_equal(mdnlite.load(path).predict(X), model.predict(X))
    write_npz(path, reseal(with_meta(dict(arrays), lambda m: m.update(format_version=999))))
    with pytest.raises(ModelFileError, match="format version 999; this mdnlite reads version 1"):
        mdnlite.load(path)


def test_an_npz_that_is_not_a_model(tmp_path, small_models):
    path = tmp_path / "data.npz"
    np.savez(path, a=np.arange(3), b=np.ones((2, 2)))
    with pytest.raises(ModelFileError, match="is not an mdnlite model file"):
        mdnlite.load(path)
    np.savez(path, meta=np.array("{not json"), digest=np.array("0"))
    with pytest.raises(ModelFileError, match="is not an mdnlite model file"):
        mdnlite.load(path)
    arrays = reseal(with_meta(read_npz(_saved(tmp_path, small_models)),
                              lambda m: m.update(format="other")))
    write_npz(path, arrays)
    with pytest.raises(ModelFileError, match="is not an mdnlite model file \\(format 'other'\\)"):
        mdnlite.load(path)


def test_an_unknown_estimator_class(tmp_path, small_models):
    arrays = reseal(with_meta(read_npz(_saved(tmp_path, small_models)),
                              lambda m: m.update({"class": "Perceptron"})))
    path = tmp_path / "other.npz"
    write_npz(path, arrays)
    with pytest.raises(ModelFileError, match="unknown estimator 'Perceptron'"):
        mdnlite.load(path)


def _saved(tmp_path, small_models):
    path = tmp_path / "saved.npz"
    small_models["Regressor"].save(path)
    return path


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_saving_an_unfitted_model(tmp_path, cls):
    with pytest.raises(mdnlite.NotFittedError, match="not fitted yet"):
        cls().save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


# --- files and pickles of the first release ----------------------------------------------------

RELEASE = os.path.join(os.path.dirname(__file__), "data")


def test_files_of_the_first_release_load_and_predict_identically():
    # written by mdnlite 0.1.0, before n_members, early_stopping and validation_fraction
    ref = np.load(os.path.join(RELEASE, "predictions-0.1.0.npz"))
    grid = ref["grid"]
    mdn = mdnlite.load(os.path.join(RELEASE, "mdn-0.1.0.npz"))
    assert (mdn.n_members, mdn.early_stopping, mdn.validation_fraction) == (1, False, 0.1)
    np.testing.assert_array_equal(mdn.score_samples(grid, grid), ref["mdn_score"])
    # the mean is now summed about the first component with normalised weights (so that a
    # large offset keeps its digits): equal to the rounding of the model's float32
    np.testing.assert_allclose(mdn.predict(grid), ref["mdn_mean"], rtol=1e-6, atol=1e-7)
    reg = mdnlite.load(os.path.join(RELEASE, "regressor-0.1.0.npz"))
    np.testing.assert_array_equal(reg.predict(grid), ref["reg_mean"])
    mdn.partial_fit(grid, grid)  # and they train on
    assert mdn.n_epochs_ == 6


def test_pickles_of_the_first_release_unpickle_and_predict_identically(tmp_path):
    import pickle

    ref = np.load(os.path.join(RELEASE, "predictions-0.1.0.npz"))
    with open(os.path.join(RELEASE, "mdn-0.1.0.pkl"), "rb") as f:
        mdn = pickle.load(f)
    assert mdn.get_params()["n_members"] == 1 and mdn.get_params()["early_stopping"] is False
    np.testing.assert_array_equal(mdn.score_samples(ref["grid"], ref["grid"]), ref["mdn_score"])
    before = mdn.network_.n_params
    mdn.set_params(n_members=3)  # takes effect at the next fit: a save now is the fitted model
    mdn.save(tmp_path / "saved.npz")
    again = mdnlite.load(tmp_path / "saved.npz")
    np.testing.assert_array_equal(again.score_samples(ref["grid"], ref["grid"]), ref["mdn_score"])
    mdn.set_params(n_members=1)
    mdn.fit(ref["grid"], ref["grid"])  # a refit with the parameters it was made with
    assert type(mdn.network_) is mdnlite.Sequential and mdn.network_.n_params == before
