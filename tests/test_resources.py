"""Threads and memory: the BLAS thread policy around fit and predictions, and predictions in
blocks of rows that give the results of one block to the last bit."""

import io

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, GaussianMixture, Regressor, config
from mdnlite.estimators import progress

SMALLEST = 2 ** 20  # the smallest prediction_memory allowed: blocks of a few hundred rows


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 2))
    y = np.column_stack([np.sin(3 * X[:, 0]), X[:, 1] ** 2]) + 0.1 * rng.normal(size=(300, 2))
    kw = dict(hidden_sizes=(8,), max_epochs=3, random_state=0, verbose=0)
    joint = GaussianMixture(4, random_state=0).fit(np.column_stack([X, y]))
    return {"diagonal": MDN(4, n_members=2, **kw).fit(X, y),
            "full": MDN(3, covariance="full", n_members=1, **kw).fit(X, y),
            "one target": MDN(5, n_members=1, **kw).fit(X, y[:, 0]),
            "regressor": Regressor(**kw).fit(X, y),
            "conditioned": joint.condition([0, 1])}


def _calls(model):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (3000, 2))
    y = model.sample(X, random_state=2)[:, 0]
    calls = {"predict": lambda: model.predict(X),
             "variance": lambda: model.predict_variance(X),
             "covariance": lambda: model.predict_covariance(X),
             "mode": lambda: model.predict_mode(X),
             "approx_mode": lambda: model.predict_approx_mode(X),
             "modes": lambda: tuple(model.predict_modes(X)),
             "cdf": lambda: model.cdf(X, y),
             "quantiles": lambda: model.predict_quantiles(X, [0.05, 0.5, 0.95]),
             "interval": lambda: model.predict_interval(X, 0.8),
             "crps": lambda: model.crps(X, y),
             "energy": lambda: model.energy_score(X, y, n_samples=20, random_state=3),
             "pit": lambda: model.pit(X, y),
             "calibration": lambda: tuple(model.calibration(X, y))[:2],
             "coverage": lambda: model.interval_coverage(X, y),
             "mixture": lambda: tuple(model.predict_mixture(X)),
             "score_samples": lambda: model.score_samples(X, y),
             "sample": lambda: model.sample(X, 3, random_state=4),
             "cold sample": lambda: model.sample(X, 2, temperature=0.0, random_state=4)}
    if y.ndim == 1:
        calls["hdr"] = lambda: model.predict_interval(X, 0.8, kind="hdr")
    return calls


def _host(value):
    if isinstance(value, dict):
        return {k: _host(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_host(v) for v in value]
    return np.asarray(mdnlite.to_host(value)) if hasattr(value, "shape") else value


@pytest.mark.parametrize("kind", ["diagonal", "full", "one target", "regressor", "conditioned"])
def test_every_prediction_in_small_blocks_is_the_prediction_in_one(models, kind):
    model = models[kind]
    for name, call in _calls(model).items():
        whole = _host(call())
        with config.config_context(prediction_memory=SMALLEST):
            blocks = _host(call())
        np.testing.assert_equal(blocks, whole, err_msg=name)


def test_the_blocks_are_small_and_many(models, monkeypatch):
    seen = []
    real = config.row_blocks

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr("mdnlite.estimators.predictions.row_blocks", spy)
    X = np.zeros((20_000, 2))
    with config.config_context(prediction_memory=SMALLEST):
        models["full"].predict_quantiles(X, [0.1, 0.9])
    blocks = seen[-1]
    assert len(blocks) > 10 and blocks[0].start == 0 and blocks[-1].stop == 20_000
    assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:]))


def test_diagnostics_in_blocks_agree(models):
    model = models["diagonal"]
    X = np.random.default_rng(5).uniform(-1, 1, (4000, 2))
    y = model.sample(X, random_state=6)[:, 0]
    whole = model.diagnostics(X, y)
    with config.config_context(prediction_memory=SMALLEST):
        blocks = model.diagnostics(X, y)
    np.testing.assert_array_equal(blocks["effective_components"], whole["effective_components"])
    assert blocks["dead_components"] == whole["dead_components"]
    for key in ("mean_weights", "mean_responsibilities"):
        np.testing.assert_array_equal(blocks[key], whole[key])


def test_a_long_prediction_says_how_far_it_is(models, monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(progress, "BLOCK_REPORT", 0.0)
    monkeypatch.setattr(progress.sys, "stderr", stream)
    model = models["diagonal"]
    model.set_params(verbose=2)
    try:
        with config.config_context(prediction_memory=SMALLEST):
            model.predict_quantiles(np.zeros((20_000, 2)), 0.5)
    finally:
        model.set_params(verbose=0)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("predict_quantiles: ") and "of 20,000 rows" in lines[0]
    assert lines[-1].startswith("predict_quantiles: 20,000 rows")
    stream.truncate(0)
    with config.config_context(prediction_memory=SMALLEST):
        model.predict_quantiles(np.zeros((20_000, 2)), 0.5)  # verbose=0: nothing
    assert stream.getvalue() == ""


# --- settings --------------------------------------------------------------------------------

def test_settings_are_checked_and_restored():
    before = config.get_config()
    with config.config_context(blas_threads=1, prediction_memory=2 ** 24):
        assert config.get_config() == {"blas_threads": 1, "prediction_memory": 2 ** 24}
    assert config.get_config() == before
    for bad, error in ((dict(blas_threads=0), ValueError), (dict(blas_threads="1"), TypeError),
                       (dict(prediction_memory=1000), ValueError),
                       (dict(prediction_memory=1.5e9), TypeError)):
        with pytest.raises(error):
            with config.config_context(**bad):
                pass
    with pytest.raises(TypeError, match="unknown setting 'threads'"):
        config._checked(threads=1)


def test_the_policy_uses_one_thread_for_small_work_only():
    assert config.blas_threads_for(256 * 64 * 64) == 1
    assert config.blas_threads_for(4096 * 256 * 256) is None  # the caller's setting
    with config.config_context(blas_threads=3):
        assert config.blas_threads_for(10) == 3
    with config.config_context(blas_threads=None):
        assert config.blas_threads_for(10) is None


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_fit_trains_small_networks_on_one_thread_and_restores_the_caller_s():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = np.linspace(0, 1, 100)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        seen = []
        # what the BLAS allows during an epoch, read from inside the training step
        import mdnlite.estimators.training as training
        real = training.training_step

        def step(*args):
            seen.append(_blas_threads())
            return real(*args)

        training.training_step = step
        try:
            MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=2, verbose=0).fit(x, x)
            with config.config_context(blas_threads=None):
                MDN(2, n_members=1, hidden_sizes=(8,), max_epochs=1, verbose=0).fit(x, x)
        finally:
            training.training_step = real
        assert _blas_threads() == before
    assert seen[0] == [1] * len(before) and seen[-1] == before


def _in_blocks(xp):
    """Predictions of a model on ``xp`` in blocks of a few hundred rows, and the settings."""
    from strict_backend import strict

    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(2000, 2)), rng.normal(size=(2000, 1))
    dev = strict.asarray if xp is strict else np.asarray
    model = MDN(3, n_members=2, hidden_sizes=(6,), max_epochs=2, random_state=0, backend=xp,
                verbose=0).fit(dev(X[:200]), dev(y[:200]))
    mdnlite.set_config(prediction_memory=SMALLEST)
    try:
        out = {"setting": mdnlite.get_config()["prediction_memory"]}
        with mdnlite.config_context(blas_threads=1):
            out["quantiles"] = model.predict_quantiles(dev(X), [0.1, 0.9])
            out["sample"] = model.sample(dev(X), 2, random_state=1)
            out["crps"] = model.crps(dev(X), dev(y))
    finally:
        mdnlite.set_config(prediction_memory=256 * 2 ** 20)
    return out


def test_blocks_on_the_strict_backend_match_numpy():
    from strict_backend import assert_same_results, strict

    assert_same_results(_in_blocks(strict), _in_blocks(np), {"setting"})
