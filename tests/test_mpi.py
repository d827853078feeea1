"""Data-parallel training with MPI: ``mpiexec -n 2`` against one process on all the rows.

Each test writes a script, runs it on two ranks (oversubscription allowed: CI has 2 cores),
and checks what rank 0 prints: every rank ends with bit-identical weights, and the model is
the one-process model up to the order of the sums."""

import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which(
    "mpiexec")
if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install mpich)", allow_module_level=True)

PRELUDE = r"""
import warnings, numpy as np
warnings.simplefilter("ignore")
from mpi4py import MPI
import mdnlite
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, (601, 2))
y = np.sin(3 * X[:, 0]) + X[:, 1] + 0.1 * rng.normal(size=601)
mine = np.array_split(np.arange(601), size)[rank]
def same_everywhere(a):
    return all(np.array_equal(a, b) for b in comm.allgather(a))
"""


def run(body, ranks=2):
    script = PRELUDE + body
    env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_two_ranks_train_the_one_process_model():
    out = run(r"""
kw = dict(n_components=3, n_members=1, max_epochs=6, batch_size=64, random_state=0, verbose=0,
          early_stopping=False, input_noise=0.02, target_noise=0.02, weight_decay=1e-4,
          clip_norm=5.0, dtype="float64")
model = mdnlite.MDN(**kw).fit(X[mine], y[mine], comm=comm)
assert same_everywhere(model.get_weights()) and same_everywhere(np.array(model.loss_curve_))
if rank == 0:
    one = mdnlite.MDN(**kw).fit(X, y)
    assert np.abs(one.get_weights() - model.get_weights()).max() < 1e-9
    assert np.abs(np.array(one.loss_curve_) - model.loss_curve_).max() < 1e-10
    s = model.standardizer_
    np.testing.assert_allclose(s.x_mean, one.standardizer_.x_mean, rtol=1e-13)
    np.testing.assert_allclose(s.y_scale, one.standardizer_.y_scale, rtol=1e-13)
    print("ok")
""")
    assert out.split()[-1] == "ok"


def test_defaults_early_stopping_and_partial_fit_agree_across_ranks():
    out = run(r"""
model = mdnlite.MDN(verbose=0, max_epochs=40).fit(X[mine], y[mine], comm=comm)  # no seed
assert same_everywhere(model.get_weights())
assert same_everywhere(np.array(model.validation_loss_curve_))  # held out per rank, combined
assert same_everywhere(np.array([model.n_epochs_, model.best_epoch_ or -1]))
reg = mdnlite.Regressor(verbose=0, random_state=1, max_epochs=5).fit(X[mine], y[mine],
                                                                      comm=comm)
assert same_everywhere(reg.get_weights())
part = mdnlite.MDN(3, n_members=1, random_state=2, verbose=0)
for _ in range(3):
    part.partial_fit(X[mine], y[mine], comm=comm)
assert same_everywhere(part.get_weights()) and part.n_epochs_ == 3
if rank == 0:
    print("ok", model.n_epochs_)
""")
    assert out.split()[0] == "ok"


def test_a_seeded_fit_with_held_out_rows_on_shards_of_other_sizes_agrees():
    out = run(r"""
mine = np.arange(0, 250) if rank == 0 else np.arange(250, 601)  # 250 and 351 rows
model = mdnlite.MDN(2, n_members=1, random_state=3, verbose=0, max_epochs=15,
                    early_stopping=True).fit(X[mine], y[mine], comm=comm)
assert same_everywhere(model.get_weights())
assert same_everywhere(np.array(model.validation_loss_curve_))
if rank == 0:
    print("ok")
""")
    assert out.split()[-1] == "ok"


def test_float32_ranks_agree_and_stay_near_one_process():
    out = run(r"""
kw = dict(n_components=2, n_members=1, max_epochs=4, batch_size=100, random_state=0,
          verbose=0, early_stopping=False)
model = mdnlite.MDN(**kw).fit(X[mine], y[mine], comm=comm)
assert same_everywhere(model.get_weights())
if rank == 0:
    one = mdnlite.MDN(**kw).fit(X, y)
    assert abs(one.score(X, y) - model.score(X, y)) < 1e-3
    print("ok")
""")
    assert out.split()[-1] == "ok"


def test_data_refused_on_one_rank_stop_every_rank():
    out = run(r"""
Xr = X[mine] if rank == 0 else X[:0]  # rank 1 has no rows: refused there, and everywhere
try:
    mdnlite.MDN(max_epochs=1, verbose=0).fit(Xr, y[mine][:len(Xr)], comm=comm)
    message = "fitted"
except ValueError as error:
    message = str(error)
messages = comm.gather(message)
if rank == 0:
    print(repr(messages))
""")
    messages = eval(out.strip().splitlines()[-1])
    assert "rank 1 of 2 refused its data" in messages[0]
    assert messages[1] != "fitted" and "sample" in messages[1]


def test_a_bad_communicator_is_refused():
    import numpy as np

    import mdnlite
    with pytest.raises(TypeError, match="mpi4py communicator"):
        mdnlite.MDN(max_epochs=1).fit(np.zeros((10, 1)), np.zeros(10), comm=object())


def test_importing_mdnlite_does_not_import_mpi4py():
    code = "import sys, mdnlite; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr
