"""Whole fits, end to end: ``MDN.fit`` against the articles' own PyTorch loops, and the cost
``fit`` adds per epoch beyond its steps.

1. The PyTorch article's setting: 1-5-5 relu, K=3, N=300, full batch, 5000 epochs, through
   ``MDN.fit`` against the article's loop (a ``DataLoader`` over a ``TensorDataset``, Adam,
   ``loss.item()`` summed per batch).
2. The Keras article's setting: 1-128-128 relu, K=20, batch 128, N=10,000, 20 epochs, against
   the same loop in PyTorch eager (``randperm`` batches, one host read of the loss per epoch).
3. The per-epoch overhead of ``fit``: the epochs of a fit of one-step epochs, each timed from
   one callback to the next, against a bare step (``training.training_step``, the five lines of
   loop on the same packed batch) that the callback times after each epoch.

Runs alternate, float32 throughout. Each repeat times mdnlite and then PyTorch back to back,
and the table gives both the ratio of the median times and the median of the repeats' own
ratios: the machine's speed drifts from one minute to the next, and a pair run within seconds
of each other shares it. The same model and head as ``bench_training.py``; noise
regularisation, weight decay and the learning-rate schedule are off, so that both libraries
do the same work.

    python benchmarks/bench_fit.py [--repeats 5] [--epochs 5000] [--json FILE]

PyTorch is optional (``pip install torch==2.13.0``); without it parts 1 and 2 time mdnlite
alone.
"""

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

import mdnlite
from mdnlite.estimators import training

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_training import LEARNING_RATE, MIN_SCALE, PAUSE, torch_mdn  # noqa: E402
from bench_training import time_torch as torch_step  # noqa: E402

ARTICLES = {
    "PyTorch article: 1-5-5 relu, K=3, N=300, full batch":
        ((1, (5, 5), "relu", 3, 1, 300, "exp", "diagonal"), 300, "dataloader"),
    "Keras article: 1-128-128 relu, K=20, batch 128, N=10,000":
        ((1, (128, 128), "relu", 20, 1, 128, "elu1", "diagonal"), 10_000, "eager"),
}


def data(N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (N, 1)).astype(np.float32)
    t = (x + 0.3 * np.sin(2 * np.pi * x) + rng.uniform(-0.1, 0.1, x.shape)).astype(np.float32)
    return t, x  # the inverse problem


def mdn(config, epochs):
    _, hidden, activation, K, _, batch, scale_activation, covariance = config
    return mdnlite.MDN(K, n_members=1, hidden_sizes=hidden, activation=activation,
                       covariance=covariance,
                       scale_activation=scale_activation, min_scale=MIN_SCALE,
                       batch_size=batch, learning_rate=LEARNING_RATE, max_epochs=epochs,
                       input_noise=0.0, target_noise=0.0, weight_decay=0.0,
                       learning_rate_schedule="constant", random_state=0, verbose=0)


def time_fit(config, X, y, epochs):
    start = time.perf_counter()
    mdn(config, epochs).fit(X, y)
    return time.perf_counter() - start


def time_torch(config, X, y, epochs, loop):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    batch, N = config[5], len(X)
    if loop == "eager":  # bench_training's loop, after one warm-up epoch it does not count
        return torch_step(config, X, y, epochs, "cpu") * epochs * math.ceil(N / batch)
    torch.manual_seed(0)
    net, nll = torch_mdn(config, "cpu")
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
                        batch_size=batch, shuffle=False)
    start = time.perf_counter()
    for _ in range(epochs):  # the article's loop, as written there
        total = 0.0
        for xb, yb in loader:
            loss = nll(net(xb), yb)
            total += loss.item()
            loss.backward()
            opt.step()
            opt.zero_grad()
    return time.perf_counter() - start


class _Clock(mdnlite.Callback):
    """Times each epoch of a fit from the end of one ``on_epoch_end`` to the next, and after
    each epoch a bare step on a second model, outside the epochs it times."""

    def __init__(self, bare_step):
        self.bare_step, self.mark, self.epochs, self.bare = bare_step, None, [], []

    def on_epoch_end(self, model, epoch, logs):
        now = time.perf_counter()
        if self.mark is not None:
            self.epochs.append(now - self.mark)
        start = time.perf_counter()
        self.bare_step()
        self.bare.append(time.perf_counter() - start)
        self.mark = time.perf_counter()


def time_overhead(epochs):
    """(seconds per epoch of ``fit``, seconds per bare step) for the PyTorch article's model,
    N = 300 in one batch: a fit of ``epochs`` one-step epochs whose callback, after each
    epoch, times a bare step (``training.training_step`` on a batch) on a second
    model of the same size; the epochs are timed between callbacks, so that everything the
    fit loop does per epoch counts, and epoch and bare step alternate one by one, so that
    the machine's drift hits both alike; medians over the epochs."""
    config = ARTICLES["PyTorch article: 1-5-5 relu, K=3, N=300, full batch"][0]
    X, y = data(300)
    other = mdn(config, 1).fit(X, y)
    net, head, opt = other.network_, other.head_, other.optimizer_
    packed = training.pack(X, y, np, np.float32, other.standardizer_)
    rows = np.arange(300, dtype=np.int32)

    def bare_step():
        batch = np.take(packed, rows, axis=0)
        training.training_step(net, head, opt, batch[:, :1], batch[:, 1:])

    clock = _Clock(bare_step)
    mdn(config, epochs).fit(X, y, callbacks=clock)
    return statistics.median(clock.epochs), statistics.median(clock.bare)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5000, help="epochs of the PyTorch article's fit")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(2)
        versions = f"PyTorch {torch.__version__}"
    except ImportError:
        torch, versions = None, "PyTorch not installed"
    epochs = {"dataloader": args.epochs, "eager": 20}
    times = {name: {"mdnlite": [], "torch": []} for name in ARTICLES}
    overhead = {"fit": [], "bare": []}
    for _ in range(args.repeats):
        for name, (config, N, loop) in ARTICLES.items():
            X, y = data(N)
            time.sleep(PAUSE)
            times[name]["mdnlite"].append(time_fit(config, X, y, epochs[loop]))
            if torch is not None:
                time.sleep(PAUSE)
                times[name]["torch"].append(time_torch(config, X, y, epochs[loop], loop))
        time.sleep(PAUSE)
        fit, bare = time_overhead(min(args.epochs, 2000))
        overhead["fit"].append(fit)
        overhead["bare"].append(bare)
    print(f"{platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{versions}; medians of {args.repeats} interleaved repeats\n")
    print("| setting | epochs | mdnlite s | PyTorch s | speed-up, medians | speed-up, median of "
          "pairs | single pairs |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, (config, N, loop) in ARTICLES.items():
        ours = statistics.median(times[name]["mdnlite"])
        theirs = statistics.median(times[name]["torch"]) if times[name]["torch"] else math.nan
        pairs = [b / a for a, b in zip(times[name]["mdnlite"], times[name]["torch"])]
        rows.append(dict(setting=name, epochs=epochs[loop], mdnlite_s=ours, torch_s=theirs,
                         speedup=theirs / ours, mdnlite_runs_s=times[name]["mdnlite"],
                         torch_runs_s=times[name]["torch"], speedup_per_repeat=pairs))
        paired = statistics.median(pairs) if pairs else math.nan
        rows[-1]["speedup_median_of_pairs"] = paired
        spread = f"{min(pairs):.1f}x to {max(pairs):.1f}x" if pairs else ""
        print(f"| {name} | {epochs[loop]} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f}x | "
              f"{paired:.1f}x | {spread} |")
    fit, bare = (statistics.median(overhead[k]) for k in ("fit", "bare"))
    per_repeat = [(a - b) * 1e6 for a, b in zip(overhead["fit"], overhead["bare"])]
    print("\nfit's overhead per epoch in each repeat: "
          + ", ".join(f"{o:.1f} us ({o / (b * 1e6):.0%} of a {b * 1e6:.0f} us step)"
                      for o, b in zip(per_repeat, overhead["bare"])))
    print(f"per epoch of a one-step fit: {fit * 1e6:.1f} us; the bare step: {bare * 1e6:.1f} us; "
          f"fit's overhead per epoch: {(fit - bare) * 1e6:.1f} us")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(machine=platform.machine(), numpy=np.__version__, torch=versions,
                           repeats=args.repeats, rows=rows,
                           epoch_us=fit * 1e6, bare_step_us=bare * 1e6,
                           overhead_us=(fit - bare) * 1e6,
                           overhead_per_repeat_us=per_repeat,
                           bare_step_per_repeat_us=[b * 1e6 for b in overhead["bare"]]),
                      f, indent=1)


if __name__ == "__main__":
    main()
