"""Out-of-core training: fit on a memory-mapped file, an h5py dataset or a Dask array reads a
block of rows at a time; a 1 GB file trains under a memory limit well below its size."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import mdnlite
from mdnlite.estimators import streaming


def problem(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 3))
    return X, np.sin(3 * X[:, 0]) + X[:, 1] + 0.1 * rng.normal(size=n)


@pytest.fixture()
def on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "BLOCK_ROWS", 1000)  # several blocks and buffers
    monkeypatch.setattr(streaming, "BUFFER_ROWS", 3000)
    X, y = problem(8000)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return (np.load(tmp_path / "X.npy", mmap_mode="r"),
            np.load(tmp_path / "y.npy", mmap_mode="r"), X, y)


def fit(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mdnlite.MDN(3, n_members=1, max_epochs=8, random_state=0, verbose=0,
                           **kw).fit(X, y)


def test_a_memmap_fit_streams_and_scores_like_the_in_memory_one(on_disk):
    Xm, ym, X, y = on_disk
    assert streaming.is_out_of_core(Xm) and not streaming.is_out_of_core(X)
    streamed, again, in_memory = fit(Xm, ym), fit(Xm, ym), fit(X, y)
    np.testing.assert_array_equal(streamed.get_weights(), again.get_weights())  # seeded
    X_test, y_test = problem(4000, seed=1)
    assert abs(streamed.score(X_test, y_test) - in_memory.score(X_test, y_test)) < 0.15
    assert streamed.n_epochs_ == 8 and len(streamed.loss_curve_) == 8
    # the statistics of one streaming pass are those of the whole array
    np.testing.assert_allclose(streamed.standardizer_.x_mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(streamed.standardizer_.y_scale, y.std(), rtol=1e-12)


def test_partial_fit_streams_a_memmap_one_epoch_per_call(on_disk):
    Xm, ym, X, y = on_disk
    model = mdnlite.MDN(3, n_members=1, random_state=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            model.partial_fit(Xm, ym)
    assert model.n_epochs_ == 3 and len(model.loss_curve_) == 3
    np.testing.assert_allclose(model.standardizer_.x_mean, X.mean(axis=0), rtol=1e-12)
    assert np.isfinite(model.score(X, y))


def test_streamed_fits_stop_early_on_the_caller_s_held_out_rows(on_disk):
    Xm, ym, _, _ = on_disk
    X_val, y_val = problem(500, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mdnlite.MDN(3, n_members=1, max_epochs=30, random_state=0, verbose=0,
                            early_stopping=True).fit(Xm, ym, validation_data=(X_val, y_val))
    assert len(model.validation_loss_curve_) == model.n_epochs_ >= 1
    with pytest.raises(ValueError, match="validation_data"):
        mdnlite.MDN(max_epochs=1).fit(Xm, ym, validation_split=0.2)


class Rows:
    """An array-like of no library: a dtype, a shape and row slicing, counting its reads."""

    def __init__(self, a):
        self.a, self.dtype, self.shape, self.reads = a, a.dtype, a.shape, []

    def __getitem__(self, rows):
        self.reads.append(rows)
        return self.a[rows]


def test_any_row_sliceable_array_like_is_read_a_block_at_a_time(on_disk):
    _, _, X, y = on_disk
    rows_x, rows_y = Rows(X), Rows(y)
    assert streaming.is_out_of_core(rows_x)
    for in_memory in (X, [[1.0]], np.float64(1.0)):
        assert not streaming.is_out_of_core(in_memory)
    model = fit(rows_x, rows_y)
    assert np.isfinite(model.score(X, y))
    blocks = [r for r in rows_x.reads if isinstance(r, slice)]
    assert blocks and max(r.stop - r.start for r in blocks) <= streaming.BLOCK_ROWS


def test_a_bad_row_on_disk_is_named(tmp_path):
    X, y = problem(3000)
    X[2500, 1] = np.nan
    np.save(tmp_path / "X.npy", X)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="from row 0.*NaN|NaN"):
        mdnlite.MDN(max_epochs=1).fit(Xm, y)


def test_a_dask_array_and_an_h5py_dataset_train_too(tmp_path):
    X, y = problem(3000)
    da = pytest.importorskip("dask.array")
    model = fit(da.from_array(X, chunks=700), da.from_array(y, chunks=700))
    assert np.isfinite(model.score(X, y))
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["X"], f["y"] = X, y
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert streaming.is_out_of_core(f["X"])
        assert np.isfinite(fit(f["X"], f["y"]).score(X, y))


LIMITED = r"""
import os, resource, sys, warnings
import numpy as np
limit = 400 * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
import mdnlite
warnings.simplefilter("ignore")
X = np.load(os.path.join(sys.argv[1], "X.npy"), mmap_mode="r")
y = np.load(os.path.join(sys.argv[1], "y.npy"), mmap_mode="r")
try:
    X + 0  # a copy of the file does not fit under the limit
    print("the limit does not hold")
    sys.exit(1)
except MemoryError:
    pass
model = mdnlite.MDN(3, n_members=1, hidden_sizes=(16,), batch_size=4096, max_epochs=1,
                    random_state=0, verbose=0).fit(X, y)
model.partial_fit(X, y)  # one more epoch, streamed too
print("ok", X.nbytes, model.n_epochs_)
"""


def test_a_1_gb_file_trains_under_a_400_mib_memory_limit(tmp_path):
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "RLIMIT_DATA"):
        pytest.skip("no RLIMIT_DATA on this platform")
    N = 1_000_000_000 // (15 * 8)  # 15 float64 columns: 1 GB
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64,
                                  shape=(N, 15))
    y = np.lib.format.open_memmap(tmp_path / "y.npy", mode="w+", dtype=np.float64, shape=(N,))
    rng = np.random.default_rng(0)
    for s in range(0, N, 2_000_000):
        block = rng.normal(size=(min(2_000_000, N - s), 15))
        X[s:s + len(block)], y[s:s + len(block)] = block, np.sin(block[:, 0])
    X.flush(), y.flush()
    del X, y
    script = tmp_path / "limited.py"
    script.write_text(LIMITED)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.split() == ["ok", str(N * 15 * 8), "2"]
