"""Peak memory of ``MDN.fit`` on a large data set, against the size of the data.

NumPy reports its allocations to ``tracemalloc``, so the peak traced while ``fit`` runs is
the memory the fit itself needs beyond the caller's arrays: the packed float32 training copy
of the data, the shuffle order (4 bytes a sample), and what the minibatches use.

    python benchmarks/bench_memory.py [--n-samples 1000000] [--dtype float64|float32]
"""

import argparse
import tracemalloc

import numpy as np

import mdnlite


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-samples", type=int, default=1_000_000)
    p.add_argument("--dtype", default="float64", help="dtype of the caller's arrays")
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)

    rng = np.random.default_rng(0)
    N = args.n_samples
    x = rng.uniform(0, 1, N).astype(args.dtype)
    t = (x + 0.3 * np.sin(2 * np.pi * x) + rng.uniform(-0.1, 0.1, N)).astype(args.dtype)
    model = mdnlite.MDN(10, hidden_sizes=(25, 10), batch_size=args.batch_size, max_epochs=1,
                        random_state=0)

    tracemalloc.start()
    model.fit(t, x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    mib = 2.0 ** 20
    caller = x.nbytes + t.nbytes
    packed = N * 2 * 4  # (N, D_in + D) float32
    order = N * 4  # int32 shuffle order
    batch = args.batch_size * 2 * 4
    print(f"samples                               {N:,}")
    print(f"caller's arrays ({args.dtype})              {caller / mib:8.1f} MiB")
    print(f"training copy of the data (float32)    {packed / mib:8.1f} MiB")
    print(f"shuffle order (int32)                  {order / mib:8.1f} MiB")
    print(f"peak traced during fit                 {peak / mib:8.1f} MiB")
    print(f"peak - copy - order                    {(peak - packed - order) / 1024:8.1f} KiB"
          f"  (= {(peak - packed - order) / batch:.0f} batches of {args.batch_size} rows of data)")
    print(f"peak / caller's data                   {peak / caller:8.2f}")


if __name__ == "__main__":
    main()
