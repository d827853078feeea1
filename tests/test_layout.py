"""The package's layout: what docs/architecture.md promises, and what 0.1.0 users still have.

Every module path and public name of mdnlite 0.1.0 still imports (old scripts and pickles
name them); modules stay small and say what they hold; each estimator and head declares its
arguments in one table that ``validation.check_params`` checks; renamed things keep working
with a DeprecationWarning that names the new place.
"""

import ast
import importlib
import inspect
import pathlib
import pickle
import warnings

import numpy as np
import pytest

import mdnlite
from mdnlite import GaussianMixture, MDN, MixtureHead, Regressor
from mdnlite.heads.mixture import RawOutputs

PACKAGE = pathlib.Path(mdnlite.__file__).parent

# the public names of every module of mdnlite 0.1.0, as its __all__ listed them
OLD_MODULES = {
    "backend": ("BackendUnavailableError", "get_xp", "array_module", "resolve_dtype",
                "to_device", "to_host", "logsumexp", "log_softmax", "softplus", "softmax_parts",
                "LOG_2PI"),
    "callbacks": ("Callback", "EarlyStopping", "ReduceLROnPlateau"),
    "cholesky": ("n_lower", "lower_pairs", "Triangular", "solve_lower",
                 "solve_lower_transposed", "log_det", "mahalanobis", "factors", "log_density",
                 "log_density_gradients"),
    "conditional": ("ConditionalGaussianMixture", "check_columns"),
    "datasets": ("inverse_sine", "noisy_spiral", "robot_arm_forward", "robot_arm_inverse",
                 "robot_arm", "multi_valued", "heteroscedastic", "gap", "changing_noise",
                 "ODD_DATASETS", "engel"),
    "ensemble": ("EnsembleHead",),
    "estimator": ("NetworkEstimator", "NonFiniteLossError", "DivergenceWarning",
                  "OverfittingWarning", "NotFittedError", "auto_noise", "auto_early_stopping",
                  "auto_epochs", "auto_weight_decay", "AUTO_STEPS"),
    "examples": ("prepare", "save_figures"),
    "gmm": ("GaussianMixture", "COVARIANCES"),
    "gradcheck": ("numerical_gradient", "relative_error", "gradient_error",
                  "directional_derivative_error"),
    "head": ("MixtureHead", "RawOutputs", "NLLCache", "SCALE_ACTIVATIONS", "COVARIANCES"),
    "io": ("FORMAT_VERSION", "save", "load", "register", "ModelFileError", "Fields",
           "check_values"),
    "kmeans": ("kmeans", "kmeans_plus_plus", "LLOYD_ITERATIONS"),
    "layers": ("Dense", "Tanh", "ReLU", "Sigmoid", "Softplus", "ELU", "Identity", "ACTIVATIONS",
               "make_activation"),
    "mdninit": ("mdninit", "inverse_scale_activation", "MAX_ROWS", "WEIGHT_SCALE"),
    "mixture": ("Mixture", "component_log_density", "log_prob", "responsibilities", "mean",
                "variance", "covariance", "approx_mode", "sample", "cdf", "quantiles",
                "central_interval", "highest_density_intervals", "modes", "mode",
                "effective_components", "crps", "energy_score", "pit", "calibration",
                "interval_coverage"),
    "mixture_checks": ("check_mixture", "check_log_weights", "NORMALISATION_TOLERANCE"),
    "model": ("MDN", "MixtureParameters"),
    "modes": ("modes", "prominence", "marginal_scales", "MIN_PROMINENCE", "MIN_DENSITY_RATIO"),
    "network": ("Sequential", "Parallel", "mlp", "n_parameters"),
    "npzfile": ("NpzReader", "NpzError", "Header"),
    "optim": ("Optimizer", "SGD", "RMSProp", "Adam", "OPTIMIZERS", "make_optimizer"),
    "params": ("Params",),
    "plot": ("conditional_density", "five_charts", "three_panels", "density_heatmap",
             "density_slices", "training_history", "sample_grid", "quantile_bands",
             "pit_histogram", "reliability_diagram"),
    "predictions": ("MixturePredictions", "MixtureParameters", "Modes", "result_dtype"),
    "progress": ("VERBOSE", "check_verbose", "progress"),
    "quantiles": ("cdf", "quantiles", "central_interval", "highest_density_intervals"),
    "regressor": ("Regressor", "SquaredError"),
    "scaling": ("Standardizer",),
    "scores": ("crps", "pit", "calibration", "interval_coverage", "Calibration",
               "CALIBRATION_LEVELS"),
    "special": ("erfc", "ndtr", "normal_pdf"),
    "training": ("NonFiniteLossError", "DivergenceWarning", "OverfittingWarning", "EVAL_BATCH",
                 "pack", "run_epoch", "mean_loss", "finite_loss", "snapshot", "restore"),
    "validation": ("check_array", "check_pair", "check_positive_int", "check_fraction",
                   "check_number", "check_random_state", "feature_names",
                   "check_feature_names"),
}


@pytest.mark.parametrize("module", sorted(OLD_MODULES))
def test_every_module_path_and_name_of_the_first_release_still_imports(module):
    old = importlib.import_module(f"mdnlite.{module}")
    for name in OLD_MODULES[module]:
        assert getattr(old, name) is not None, f"mdnlite.{module}.{name}"
    exec(f"from mdnlite.{module} import {', '.join(OLD_MODULES[module])}", {})


def test_an_old_module_path_is_the_module_that_holds_it_now():
    import mdnlite.head
    import mdnlite.heads.mixture
    import mdnlite.model

    assert mdnlite.head is mdnlite.heads.mixture
    assert mdnlite.model.MDN is MDN and MDN.__module__ == "mdnlite.estimators.mdn"
    assert mdnlite.heads.mixture.__spec__.name == "mdnlite.heads.mixture"  # left as it was
    assert mdnlite.predictions is mdnlite.estimators.predictions  # an attribute, as in 0.1.0


def test_the_old_paths_are_no_files_and_no_attributes_beyond_them():
    files = {p.stem for p in PACKAGE.glob("*.py")}
    assert files == {"__init__", "_aliases", "backend", "config", "datasets", "exceptions",
                     "validation"}
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mdnlite.nothing  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("mdnlite.nothing")


def test_a_pickle_names_the_new_modules_and_an_old_pickle_still_loads():
    data = pickle.dumps(MDN(n_components=2), protocol=2)  # class paths as plain text
    assert b"mdnlite.estimators.mdn" in data and b"mdnlite.model" not in data
    old = data.replace(b"mdnlite.estimators.mdn", b"mdnlite.model")
    assert type(pickle.loads(old)) is MDN


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "data" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_small_and_says_what_it_holds(path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    assert len(lines) <= 450, f"{len(lines)} lines: split it (docs/architecture.md)"
    assert max(map(len, lines)) <= 100
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring and len(docstring.split()) >= 12, "a docstring that says what it holds"


def test_the_architecture_page_names_every_module():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path in _modules():
        if path.name != "__init__.py" or path.parent == PACKAGE:
            assert path.name in page, f"docs/architecture.md does not name {path.name}"


def _constructor_arguments(cls):
    return [n for n in inspect.signature(cls.__init__).parameters if n != "self"]


@pytest.mark.parametrize("cls", [MDN, Regressor, GaussianMixture, MixtureHead])
def test_every_argument_has_one_entry_in_the_parameter_table(cls):
    assert sorted(cls._parameter_constraints) == sorted(_constructor_arguments(cls))


@pytest.mark.parametrize("cls, name, value, error, message", [
    (MDN, "learning_rate", 0.0, ValueError, "learning_rate must be a finite number > 0"),
    (MDN, "input_noise", -1.0, ValueError, "input_noise must be 'auto' or a finite number >= 0"),
    (MDN, "weight_decay", np.inf, ValueError, "weight_decay must be a finite number >= 0"),
    (MDN, "standardize", 1, TypeError, "standardize must be True or False, got 1"),
    (MDN, "early_stopping", "yes", ValueError, "early_stopping must be True, False or 'auto'"),
    (MDN, "validation_fraction", 1.0, ValueError, r"validation_fraction must be in \(0, 1\)"),
    (MDN, "max_epochs", "many", TypeError, "max_epochs must be an integer, got 'many'"),
    (MDN, "init", "zeros", ValueError, "init must be 'kmeans' or 'random', got 'zeros'"),
    (Regressor, "clip_norm", -1.0, ValueError, "clip_norm must be a finite number > 0"),
    (GaussianMixture, "covariance", "full ", ValueError, "covariance must be 'full' or 'diagonal'"),
    (GaussianMixture, "tol", np.nan, ValueError, "tol must be a finite number >= 0, got nan"),
])
def test_the_table_gives_one_message_per_fault(cls, name, value, error, message):
    with pytest.raises(error, match=message):
        cls(**{name: value})._check_params()


def test_repr_shows_what_differs_from_the_defaults():
    assert repr(MDN(n_components=3)) == "MDN(n_components=3)"
    assert repr(MDN()) == "MDN()"
    assert repr(Regressor(hidden_sizes=(8,), learning_rate=0.01)) == \
        "Regressor(hidden_sizes=(8,), learning_rate=0.01)"
    assert repr(MDN(max_epochs=5.0)) == "MDN(max_epochs=5.0)"  # not the default "auto"
    assert repr(GaussianMixture(n_components=1)) == "GaussianMixture()"


@pytest.fixture(scope="module")
def tiny_mdn():
    x = np.linspace(0, 1, 64)
    return MDN(2, n_members=1, hidden_sizes=(4,), max_epochs=2, random_state=0).fit(x, x)


def test_the_head_is_head_and_loss_is_its_deprecated_name(tiny_mdn):
    assert isinstance(tiny_mdn.head_, MixtureHead)
    with pytest.warns(DeprecationWarning, match="loss_ is now head_"):
        assert tiny_mdn.loss_ is tiny_mdn.head_


def test_an_old_pickle_s_loss_becomes_head():
    state = {"loss_": MixtureHead(2)}
    model = MDN.__new__(MDN)
    model.__setstate__(dict(state))
    assert isinstance(model.__dict__["head_"], MixtureHead) and "loss_" not in model.__dict__


def test_raw_outputs_name_their_pre_activations():
    head = MixtureHead(2, 1)
    parts = head.split(np.zeros((3, head.n_outputs)))
    assert isinstance(parts, RawOutputs) and parts.scale_inputs.shape == (3, 2, 1)
    with pytest.warns(DeprecationWarning, match="scale_inputs"):
        assert parts.scales is parts.scale_inputs


def test_the_old_name_of_the_joint_mixture_s_covariances_is_deprecated():
    from mdnlite.estimators import gmm

    with pytest.warns(DeprecationWarning, match="JOINT_COVARIANCES"):
        assert gmm.COVARIANCES == gmm.JOINT_COVARIANCES == ("full", "diagonal")


@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_a_mixture_names_what_its_scales_hold(covariance):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 1)), rng.standard_normal((64, 2))
    model = MDN(2, covariance=covariance, n_members=1, hidden_sizes=(4,), max_epochs=2,
                random_state=0).fit(X, y)
    params = model.predict_mixture(X[:3])
    assert params.covariance_kind == covariance
    if covariance == "full":
        assert params.factors is params.scales and params.factors.shape == (3, 2, 2, 2)
        assert not hasattr(params, "sigmas")
        with pytest.raises(AttributeError, match="use .factors"):
            params.sigmas  # noqa: B018
    else:
        assert params.sigmas is params.scales and not hasattr(params, "factors")
    assert pickle.loads(pickle.dumps(params)).covariance_kind == covariance


def test_importing_a_subpackage_warns_of_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("nn", "heads", "mixture", "estimators", "io", "plot", "exceptions"):
            importlib.import_module(f"mdnlite.{name}")
