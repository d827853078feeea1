"""What a full covariance costs: the MDN head's forward and backward, full against diagonal.

Times ``MixtureHead.nll_forward`` + ``nll_backward`` alone (the layers below are the same
for both, only wider by the head's extra outputs) for D = 1..8, K = 16, batch 4096, float32,
and prints the ratio full / diagonal.

    python benchmarks/bench_full_head.py [--backend numpy|cupy]
"""

import argparse
import timeit

import numpy as np

import mdnlite


def time_head(head, xp, N, repeats=7):
    rng = np.random.default_rng(0)
    z = xp.asarray(rng.normal(0, 0.5, (N, head.n_outputs)), dtype=np.float32)
    y = xp.asarray(rng.normal(0, 1, (N, head.n_dims)), dtype=np.float32)

    def step():
        loss, cache = head.nll_forward(z, y)
        head.nll_backward(cache)
        float(loss)  # wait for the device

    step()
    number = 20
    return min(timeit.repeat(step, number=number, repeat=repeats)) / number


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--components", type=int, default=16)
    args = p.parse_args(argv)
    xp = mdnlite.get_xp(args.backend)
    print(f"head forward + backward, K={args.components}, batch {args.batch}, float32, "
          f"backend {args.backend}")
    print("| D | outputs diagonal | outputs full | diagonal µs | full µs | full / diagonal |")
    print("|---|---|---|---|---|---|")
    for D in range(1, 9):
        heads = [mdnlite.MixtureHead(args.components, D, cov, "softplus", 1e-3)
                 for cov in ("diagonal", "full")]
        t_diag, t_full = (time_head(h, xp, args.batch) for h in heads)
        print(f"| {D} | {heads[0].n_outputs} | {heads[1].n_outputs} | {t_diag * 1e6:.0f} | "
              f"{t_full * 1e6:.0f} | {t_full / t_diag:.1f}x |")


if __name__ == "__main__":
    main()
