"""mdnlite inside scikit-learn's tools, without depending on it: tags, clone, pipelines,
searches, cross-validation, and scikit-learn's own estimator checks.

scikit-learn is an optional test dependency (the ``test`` extra installs the newest release);
these tests skip without it.
"""

import pickle

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, GaussianMixture, Regressor

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone, is_regressor  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

SMALL = dict(hidden_sizes=(8,), max_epochs=3, random_state=0)

# The checks that contradict a documented design decision (docs: "scikit-learn"), with the
# reason. Every other check of the installed scikit-learn must pass.
ONE_D_X = ("a 1-D X is read as one feature, (N,) -> (N, 1): the articles' problems have one "
           "input, and fit(t, x) is how they are written; scikit-learn refuses 1-D X")
CONDITIONAL_SCORE = ("score_samples(X, y) is log p(y | x): a conditional density scores "
                     "targets, so it needs y, where the check calls score_samples(X) alone "
                     "(tests/test_sklearn.py checks score_samples(X, y) on subsets and "
                     "permutations instead)")
EXPECTED_FAILED = {
    "MDN": {"check_fit1d": ONE_D_X,
            "check_methods_sample_order_invariance": CONDITIONAL_SCORE,
            "check_methods_subset_invariance": CONDITIONAL_SCORE},
    "GaussianMixture": {"check_fit1d": ONE_D_X},
}
EXPECTED_FAILED["Regressor"] = EXPECTED_FAILED["MDN"]


def expected_failed_checks(estimator):
    return EXPECTED_FAILED[type(estimator).__name__]


@pytest.fixture(scope="module")
def data(sine_data):
    """``data(N=120)``: conftest's sine_data with its target 1-D, as scikit-learn passes it."""
    def one_target(N=120):
        X, y = sine_data(N)
        return X, y[:, 0]
    return one_target


# --- scikit-learn's own checks -------------------------------------------------------------

@parametrize_with_checks([MDN(2, **SMALL), Regressor(**SMALL),
                          GaussianMixture(1, random_state=0)],
                         expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_expected_failures_still_fail():
    """Each listed check fails for its stated reason: when one starts passing (or fails for
    another reason), the list above is out of date."""
    from sklearn.utils.estimator_checks import check_estimator

    for estimator in (MDN(2, **SMALL), Regressor(**SMALL), GaussianMixture(1, random_state=0)):
        with pytest.warns(UserWarning, match="does not inherit from"):
            results = check_estimator(estimator, on_fail=None)
        failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
        assert set(failed) == set(expected_failed_checks(estimator)), type(estimator)
        for name, exc in failed.items():
            if name == "check_fit1d":
                assert "Did not raise" in str(exc)
            else:
                assert "score_samples() missing 1 required positional argument: 'y'" in str(exc)


def test_tags():
    for est in (MDN(), Regressor()):
        tags = get_tags(est)
        assert tags.estimator_type == "regressor" and is_regressor(est)
        assert tags.target_tags.required and tags.target_tags.multi_output
        assert tags.regressor_tags.poor_score  # score is a log-likelihood, not R²
        assert est._more_tags()["multioutput"]  # what scikit-learn < 1.6 reads
    tags = get_tags(GaussianMixture())
    assert tags.estimator_type == "density_estimator" and not tags.target_tags.required


def test_not_fitted_is_scikit_learn_s_error_too():
    for est in (MDN(), Regressor(), GaussianMixture()):
        method = est.score_samples if isinstance(est, GaussianMixture) else est.predict
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            method(np.ones((3, 2)))
        with pytest.raises(mdnlite.NotFittedError):
            method(np.ones((3, 2)))


# --- clone, pipelines, searches, cross-validation ---------------------------------------------

def test_clone_copies_parameters_not_state(data):
    X, y = data()
    model = MDN(3, **SMALL).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "network_")
    np.testing.assert_array_equal(copy.fit(X, y).get_weights(), model.get_weights())


def test_pipeline_grid_search_uses_the_log_likelihood(data):
    X, y = data(150)
    X = 1e3 * X + 5  # something for the scaler to do
    pipe = make_pipeline(StandardScaler(), MDN(**SMALL))
    grid = GridSearchCV(pipe, {"mdn__n_components": [1, 3]}, cv=3, error_score="raise")
    grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    assert grid.best_score_ == scores.max()  # default scoring: the estimator's score
    assert grid.best_params_ == {"mdn__n_components": [1, 3][int(np.argmax(scores))]}
    # the default score is the mean held-out log-likelihood of the fold
    train, test = next(iter(KFold(3).split(X)))
    fold = clone(pipe).set_params(mdn__n_components=3).fit(X[train], y[train])
    which = grid.cv_results_["params"].index({"mdn__n_components": 3})
    assert grid.cv_results_["split0_test_score"][which] == pytest.approx(
        fold.score(X[test], y[test]), rel=1e-12)
    assert grid.predict(X[:4]).shape == (4,)


def test_randomized_search_and_cross_validation(data):
    X, y = data(150)
    search = RandomizedSearchCV(Regressor(**SMALL), {"learning_rate": [1e-3, 1e-2, 3e-2]},
                                n_iter=2, cv=3, random_state=0, error_score="raise")
    assert np.isfinite(search.fit(X, y).cv_results_["mean_test_score"]).all()
    scores = cross_val_score(MDN(2, **SMALL), X, y, cv=3, error_score="raise")
    assert scores.shape == (3,) and np.isfinite(scores).all()
    result = cross_validate(MDN(2, **SMALL), X, y, cv=3, return_train_score=True,
                            error_score="raise")
    assert np.isfinite(result["test_score"]).all() and np.isfinite(result["train_score"]).all()


def test_gaussian_mixture_in_a_search(data):
    X, y = data(200)
    joint = np.column_stack([X, y])
    grid = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 4]}, cv=3,
                        error_score="raise").fit(joint)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_params_["n_components"] == 4  # a sine is far from one Gaussian


# --- data frames, pickles, invariance ----------------------------------------------------------

def test_data_frame_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data()
    frame = pd.DataFrame(X, columns=["height", "age"])
    model = MDN(2, **SMALL).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["height", "age"])
    np.testing.assert_array_equal(model.predict(frame), model.predict(X[:, :]))
    with pytest.raises(ValueError, match="feature names should match.*another order"):
        model.predict(frame[["age", "height"]])
    with pytest.raises(ValueError, match=r"unseen at fit time: \['weight'\]"):
        model.predict(frame.rename(columns={"age": "weight"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X)
    plain = MDN(2, **SMALL).fit(X, y)
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but MDN was fitted without"):
        plain.predict(frame)


def test_feature_names_are_saved(tmp_path, data):
    pd = pytest.importorskip("pandas")
    X, y = data()
    model = MDN(2, **SMALL).fit(pd.DataFrame(X, columns=["a", "b"]), y)
    loaded = mdnlite.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.feature_names_in_, ["a", "b"])
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(pd.DataFrame(X, columns=["b", "a"]))
    assert loaded._target_ndim == 1
    assert loaded.predict(pd.DataFrame(X[:3], columns=["a", "b"])).shape == (3,)


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_a_pickle_carries_no_data(cls, data):
    X, y = data(200)
    model = cls(**SMALL).fit(X, y)
    size = len(pickle.dumps(model))
    big = np.random.default_rng(1).uniform(-1, 1, (100_000, 2))  # 1.6 MB of inputs
    model.predict(big)
    model.score(big, np.zeros(len(big)))
    after = len(pickle.dumps(model))
    assert after < size + 1000, (size, after)  # the weights, not the last batch
    for layer in model.network_.layers:
        assert getattr(layer, "_x", None) is None or layer._x.shape[0] <= 200
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize("cls", [MDN, Regressor])
def test_score_samples_on_subsets_and_permutations(cls, data):
    X, y = data(60)
    model = cls(**SMALL).fit(X, y)
    full = model.score_samples(X, y)
    order = np.random.default_rng(0).permutation(60)
    np.testing.assert_allclose(model.score_samples(X[order], y[order]), full[order],
                               rtol=1e-6)
    parts = np.concatenate([model.score_samples(X[s], y[s])
                            for s in np.array_split(np.arange(60), 4)])
    np.testing.assert_allclose(parts, full, rtol=1e-6)
