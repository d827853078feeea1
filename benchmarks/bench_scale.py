"""Beyond one process: MPI ranks, out-of-core fits, Dask workers; samples per second and peak
memory, in one run.

    python benchmarks/bench_scale.py [--rows 65536] [--epochs 2] [--dask-rows 10000000]
                                     [--json FILE]

1. ``fit(..., comm=comm)`` under ``mpiexec -n 1`` and ``-n 2`` (each rank one BLAS thread,
   and one rank with two threads: the machine's two cores either way), for the 8-256-256
   model at a global batch of 8192 and the Keras article's 1-128-128 model at 128: samples
   per second and the scaling efficiency (2-rank rate / (2 x 1-rank rate)).
2. The same fit from a memory-mapped file (``np.load(mmap_mode="r")``, streamed) and from
   arrays in memory: seconds each, and the ratio.
3. ``predict`` on a Dask array of ``--dask-rows`` rows on a LocalCluster of 1 and of 2
   worker processes: rows per second and each worker's peak resident memory.

Targets: 2 ranks at least 1.7x the samples per second of 1 rank on the large model;
out-of-core within 1.3x of in-memory time; memory bounded by the blocks, not by N.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {  # name: (inputs, hidden, K, batch)
    "8-256-256, batch 8192": (8, (256, 256), 10, 8192),
    "Keras article 1-128-128, batch 128": (1, (128, 128), 20, 128),
}

RANK = r"""
import sys, time, warnings, json
import numpy as np
from mpi4py import MPI
import mdnlite
warnings.simplefilter("ignore")
comm = MPI.COMM_WORLD
n_in, hidden, K, batch, rows, epochs = json.loads(sys.argv[1])
rng = np.random.default_rng(comm.Get_rank())
share = rows // comm.Get_size()
X = rng.normal(size=(share, n_in)).astype(np.float32)
y = (np.sin(X[:, :1]) + 0.1 * rng.normal(size=(share, 1))).astype(np.float32)
kw = dict(n_components=K, n_members=1, hidden_sizes=tuple(hidden), batch_size=batch,
          max_epochs=epochs, random_state=0, verbose=0, early_stopping=False,
          input_noise=0, target_noise=0, weight_decay=0)
mdnlite.MDN(**dict(kw, max_epochs=1)).fit(X[:2 * batch], y[:2 * batch], comm=comm)  # warm
comm.Barrier()
start = time.perf_counter()
mdnlite.MDN(**kw).fit(X, y, comm=comm)
comm.Barrier()
if comm.Get_rank() == 0:
    print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def mpi_fit(model, rows, epochs, ranks, threads):
    n_in, hidden, K, batch = MODELS[model]
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    args = json.dumps([n_in, hidden, K, batch, rows, epochs])
    out = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, "-c", RANK, args],
                         capture_output=True, text=True, env=env, check=True)
    seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    return rows * epochs / seconds


def out_of_core(rows, epochs):
    import mdnlite
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 8))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=rows)
    folder = tempfile.mkdtemp()
    np.save(os.path.join(folder, "X.npy"), X)
    np.save(os.path.join(folder, "y.npy"), y)
    Xm = np.load(os.path.join(folder, "X.npy"), mmap_mode="r")
    ym = np.load(os.path.join(folder, "y.npy"), mmap_mode="r")
    kw = dict(n_components=5, n_members=1, max_epochs=epochs, batch_size=256, random_state=0,
              verbose=0, early_stopping=False)
    times = {"memory": [], "memmap": []}
    for _ in range(2):  # interleaved
        for name, data in (("memory", (X, y)), ("memmap", (Xm, ym))):
            start = time.perf_counter()
            mdnlite.MDN(**kw).fit(*data)
            times[name].append(time.perf_counter() - start)
    return {k: min(v) for k, v in times.items()}


WORKERS = r"""
import json, sys, time, warnings
import numpy as np, dask.array as da, mdnlite
from distributed import Client, LocalCluster
warnings.simplefilter("ignore")
if __name__ == "__main__":
    rows, workers = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3)); y = np.sin(X[:, 0])
    model = mdnlite.MDN(5, n_members=1, max_epochs=3, random_state=0, verbose=0).fit(X, y)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit=0) as cluster, \
            Client(cluster) as client:
        Xd = da.random.RandomState(0).normal(size=(rows, 3), chunks=(250_000, 3))
        client.compute(model.predict(Xd[:500_000]).sum(), sync=True)  # warm the workers
        start = time.perf_counter()
        total = client.compute(model.predict(Xd).sum(), sync=True)
        seconds = time.perf_counter() - start
        peaks = client.run(lambda: __import__("resource").getrusage(
            __import__("resource").RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"seconds": seconds, "peak_mib": sorted(peaks.values())}))
"""


def dask_predict(rows, workers):
    out = subprocess.run([sys.executable, "-c", WORKERS, str(rows), str(workers)],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=65536)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--dask-rows", type=int, default=10_000_000)
    p.add_argument("--json")
    args = p.parse_args(argv)
    result = {"mpi": {}, "out_of_core": None, "dask": {}}
    for model in MODELS:
        rates = {}
        for _ in range(2):  # interleaved; the best of two
            for key, ranks, threads in (("1 rank, 1 thread", 1, 1),
                                        ("1 rank, 2 threads", 1, 2),
                                        ("2 ranks, 1 thread each", 2, 1)):
                rate = mpi_fit(model, args.rows, args.epochs, ranks, threads)
                rates[key] = max(rates.get(key, 0), rate)
        rates["efficiency (2 ranks / 2 x 1 rank, 1 thread)"] = \
            rates["2 ranks, 1 thread each"] / (2 * rates["1 rank, 1 thread"])
        result["mpi"][model] = rates
        print(model, {k: round(v, 2) for k, v in rates.items()}, flush=True)
    times = out_of_core(args.rows * 4, args.epochs)
    times["ratio"] = times["memmap"] / times["memory"]
    result["out_of_core"] = times
    print("out of core", {k: round(v, 3) for k, v in times.items()}, flush=True)
    for workers in (1, 2):
        result["dask"][workers] = dask_predict(args.dask_rows, workers)
        print("dask", workers, result["dask"][workers], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
