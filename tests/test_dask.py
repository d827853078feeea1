"""Dask arrays in, Dask arrays out: every prediction method lazily over row blocks, equal to
the in-memory results, on the threaded scheduler and on a cluster of two worker processes;
dask-ml's Incremental and ParallelPostFit around MDN and Regressor."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import mdnlite

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 2))
    y = np.sin(X[:, :1]) + 0.1 * rng.normal(size=(700, 1))
    y2 = np.column_stack([y[:, 0], X[:, 1] + 0.1 * rng.normal(size=700)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mdn-1d": (mdnlite.MDN(3, max_epochs=3, random_state=0, verbose=0, n_members=2)
                       .fit(X, y[:, 0]), X, y[:, 0]),
            "mdn-2d-full": (mdnlite.MDN(2, covariance="full", max_epochs=3, random_state=0,
                                        verbose=0).fit(X, y2), X, y2),
            "regressor": (mdnlite.Regressor(max_epochs=3, random_state=0, verbose=0)
                          .fit(X, y), X, y),
            "gmm": (mdnlite.GaussianMixture(2, random_state=0).fit(np.column_stack([X, y]))
                    .condition([0, 1]), X, y),
        }


CALLS = {
    "predict": lambda m, X, y: m.predict(X),
    "predict_variance": lambda m, X, y: m.predict_variance(X),
    "predict_covariance": lambda m, X, y: m.predict_covariance(X),
    "predict_mode": lambda m, X, y: m.predict_mode(X),
    "predict_approx_mode": lambda m, X, y: m.predict_approx_mode(X),
    "predict_modes": lambda m, X, y: m.predict_modes(X),
    "predict_quantiles": lambda m, X, y: m.predict_quantiles(X, [0.1, 0.5, 0.9]),
    "predict_quantile": lambda m, X, y: m.predict_quantiles(X, 0.3),
    "predict_interval": lambda m, X, y: m.predict_interval(X, 0.8),
    "cdf": lambda m, X, y: m.cdf(X, y),
    "pit": lambda m, X, y: m.pit(X, y),
    "crps": lambda m, X, y: m.crps(X, y),
    "score_samples": lambda m, X, y: m.score_samples(X, y),
    "score": lambda m, X, y: m.score(X, y),
    "calibration": lambda m, X, y: m.calibration(X, y),
    "interval_coverage": lambda m, X, y: m.interval_coverage(X, y),
    "predict_mixture": lambda m, X, y: m.predict_mixture(X),
}


def arrays(result):
    return [np.asarray(a, dtype=float) for a in
            (result if isinstance(result, tuple) else (result,))]


@pytest.mark.parametrize("kind", ["mdn-1d", "mdn-2d-full", "regressor", "gmm"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_method_on_dask_arrays_equals_the_in_memory_one(fitted, kind, name):
    model, X, y = fitted[kind]
    Xd = da.from_array(X, chunks=(250, 1))  # columns split too: joined per block
    yd = da.from_array(y, chunks=(100,) + y.shape[1:])  # rows chunked otherwise than X's
    lazy = CALLS[name](model, Xd, yd)
    eager = CALLS[name](model, X, y)
    parts = lazy if isinstance(lazy, tuple) else (lazy,)
    for part in parts:
        if hasattr(part, "chunks") and part.ndim and part.shape[0] == len(X):
            assert part.chunks[0] == (250, 250, 200)  # X's row blocks, stated
            assert type(part._meta) is np.ndarray
    got = dask.compute(lazy, scheduler="threads")[0]
    for a, b in zip(arrays(got), arrays(eager)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_the_graph_is_built_without_computing(fitted, monkeypatch):
    model, X, y = fitted["mdn-1d"]
    calls = []
    original = type(model)._mixture
    monkeypatch.setattr(type(model), "_mixture", lambda self, A: calls.append(1) or
                        original(self, A))
    lazy = model.predict_modes(da.from_array(X, chunks=200))
    hdr = model.predict_interval(da.from_array(X, chunks=200), 0.9, kind="hdr")
    assert calls == []  # shapes and dtypes came from the model's sizes, not from a call
    assert lazy.values.shape == (len(X), 6) and hdr.shape == (len(X), 6, 2)
    assert lazy.values.dtype == np.float64 and lazy.count.dtype == np.int64
    lazy.values.compute()
    assert calls


def test_diagnostics_asks_for_arrays_in_memory(fitted):
    model, X, y = fitted["mdn-1d"]
    with pytest.raises(TypeError, match="in memory"):
        model.diagnostics(da.from_array(X, chunks=200))


def test_float32_inputs_give_float32_dask_results(fitted):
    model, X, _ = fitted["mdn-1d"]
    out = model.predict(da.from_array(X.astype(np.float32), chunks=300))
    assert out.dtype == np.float32 and out.compute().dtype == np.float32


def test_random_methods_are_reproducible_for_one_chunking(fitted):
    model, X, y = fitted["mdn-1d"]
    Xd = da.from_array(X, chunks=200)
    first = model.sample(Xd, 4, random_state=1).compute()
    again = model.sample(Xd, 4, random_state=1).compute()
    np.testing.assert_array_equal(first, again)
    assert first.shape == (len(X), 4)
    energy = model.energy_score(Xd, da.from_array(y, chunks=200), n_samples=50, random_state=0)
    assert energy.shape == (len(X),) and np.isfinite(energy.compute()).all()


CLUSTER = r"""
import numpy as np, dask.array as da, mdnlite, warnings
from distributed import Client, LocalCluster
warnings.simplefilter("ignore")
if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 2)); y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=900)
    model = mdnlite.MDN(3, max_epochs=3, random_state=0, verbose=0, n_members=1).fit(X, y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        Xd = da.from_array(X, chunks=300)
        lazy = model.predict_quantiles(Xd, [0.1, 0.9]), model.crps(Xd, da.from_array(y, 300))
        got = client.compute(list(lazy), sync=True)
        workers = len(client.scheduler_info()["workers"])
    np.testing.assert_allclose(got[0], model.predict_quantiles(X, [0.1, 0.9]), rtol=1e-6)
    np.testing.assert_allclose(got[1], model.crps(X, y), rtol=1e-6)
    print("ok", workers)
"""


def test_a_cluster_of_two_worker_processes_computes_the_same(tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "cluster.py"
    script.write_text(CLUSTER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["ok", "2"]


def test_dask_ml_wrappers_work_with_mdn_and_regressor():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 1))
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.normal(size=600)
    Xd, yd = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for estimator in (mdnlite.MDN(3, random_state=0, verbose=0, n_members=1),
                          mdnlite.Regressor(random_state=0, verbose=0)):
            incremental = wrappers.Incremental(estimator).fit(Xd, yd)  # partial_fit per block
            fitted = incremental.estimator_
            assert fitted.n_epochs_ == 3  # one epoch per block
            post = wrappers.ParallelPostFit(fitted)
            lazy = post.predict(Xd)
            np.testing.assert_allclose(lazy.compute(), fitted.predict(X), rtol=1e-6)


def test_importing_mdnlite_does_not_import_dask():
    code = "import sys, mdnlite; print(any(m.split('.')[0] in ('dask', 'distributed') " \
           "for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
