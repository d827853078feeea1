"""Time full MDN training steps: mdnlite's ``MDN.fit`` against the same model in PyTorch eager.

A step is forward, NLL, backward, Adam update and the batching around them (shuffled
minibatches, the loss summed on the device and read once per epoch). mdnlite is timed through
``MDN.fit``; PyTorch runs the idiomatic eager loop. Both in float32, runs interleaved, the
median time per step over the repeats reported with the ratio.

    python benchmarks/bench_training.py [--repeats 5] [--backend numpy|cupy] [--markdown FILE]

PyTorch is optional (``pip install torch==2.13.0`` takes the CPU build); without it only
mdnlite is timed. With ``--backend cupy`` mdnlite runs on CuPy and PyTorch on CUDA.
"""

import argparse
import math
import platform
import statistics
import sys
import time

import numpy as np

import mdnlite

# name, (D_in, hidden sizes, activation, K, D, batch, scale activation, covariance), steps per
# epoch, epochs per timing. Each article's model keeps the article's scale activation.
CONFIGS = [
    ("1-5-5 relu, K=3, batch 300 (PyTorch article)",
     (1, (5, 5), "relu", 3, 1, 300, "exp", "diagonal"), 50, 6),
    ("1-25-10 tanh, K=10, batch 256 (TF article)",
     (1, (25, 10), "tanh", 10, 1, 256, "exp", "diagonal"), 50, 6),
    ("1-128-128 relu, K=20, batch 128 (Keras article)",
     (1, (128, 128), "relu", 20, 1, 128, "elu1", "diagonal"), 50, 4),
    ("8-256-256 tanh, K=16, D=4, batch 4096",
     (8, (256, 256), "tanh", 16, 4, 4096, "softplus", "diagonal"), 10, 2),
    ("1-25-10 tanh, K=10, batch 65536 (TF article)",
     (1, (25, 10), "tanh", 10, 1, 65536, "exp", "diagonal"), 10, 2),
    ("8-256-256 tanh, K=16, D=4, batch 4096, full covariance",
     (8, (256, 256), "tanh", 16, 4, 4096, "softplus", "full"), 10, 2),
]
MIN_SCALE = 1e-3
PAUSE = 0.5  # seconds
LEARNING_RATE = 1e-3


def make_data(config, steps_per_epoch, seed=0):
    D_in, _, _, _, D, batch, _, _ = config
    rng = np.random.default_rng(seed)
    N = batch * steps_per_epoch
    X = rng.uniform(-1, 1, size=(N, D_in)).astype(np.float32)
    y = (np.sin(3 * X[:, :1]) + 0.3 * rng.standard_normal((N, D))).astype(np.float32)
    return X, y


def time_mdnlite(config, X, y, epochs, backend):
    _, hidden, activation, K, _, batch, scale_activation, covariance = config
    model = mdnlite.MDN(K, n_members=1, hidden_sizes=hidden, activation=activation,
                        covariance=covariance, scale_activation=scale_activation,
                        min_scale=MIN_SCALE, batch_size=batch,
                        learning_rate=LEARNING_RATE, max_epochs=1, backend=backend,
                        random_state=0)
    model.fit(X, y)  # builds the model and warms up; the timed fit continues from it
    model.set_params(warm_start=True, max_epochs=epochs)
    if backend == "cupy":
        import cupy

        X, y = cupy.asarray(X), cupy.asarray(y)
        cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    model.fit(X, y)  # ends with a host read of the loss: the device work is done
    return (time.perf_counter() - start) / (epochs * math.ceil(len(X) / batch))


def torch_mdn(config, device):
    import torch

    D_in, hidden, activation, K, D, _, scale_activation, covariance = config
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation]
    M = D * (D - 1) // 2 if covariance == "full" else 0
    sizes = [D_in, *hidden]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(n_in, n_out), act()]
    layers.append(torch.nn.Linear(sizes[-1], K * (1 + 2 * D + M)))
    net = torch.nn.Sequential(*layers).to(device)
    log_2pi = math.log(2 * math.pi)
    scale = {"exp": torch.exp, "softplus": torch.nn.functional.softplus,
             "elu1": lambda s: torch.nn.functional.elu(s) + 1}[scale_activation]
    rows, cols = torch.tril_indices(D, D, -1, device=device)

    def nll(z, yb):
        logits, mu, s, lower = torch.split(z, [K, K * D, K * D, K * M], dim=1)
        mu, s = mu.reshape(-1, K, D), s.reshape(-1, K, D)
        sigma = scale(s) + MIN_SCALE
        if covariance == "full":
            L = torch.diag_embed(sigma)
            L[..., rows, cols] = lower.reshape(-1, K, M)
            r = (yb[:, None, :] - mu).unsqueeze(-1)
            u = torch.linalg.solve_triangular(L, r, upper=False).squeeze(-1)
        else:
            u = (yb[:, None, :] - mu) / sigma
        log_comp = -0.5 * (u * u).sum(-1) - torch.log(sigma).sum(-1) - 0.5 * D * log_2pi
        log_w = torch.log_softmax(logits, dim=1)
        return -torch.logsumexp(log_w + log_comp, dim=1).mean()

    return net, nll


def time_torch(config, X, y, epochs, device):
    import torch

    torch.manual_seed(0)
    net, nll = torch_mdn(config, device)
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    X, y = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    batch, N = config[5], len(X)

    def epoch():
        perm = torch.randperm(N, device=device)
        total = torch.zeros((), device=device)
        for s in range(0, N, batch):
            idx = perm[s:s + batch]
            loss = nll(net(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        return float(total) / N  # one host read per epoch, as in mdnlite

    epoch()  # warm-up
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return (time.perf_counter() - start) / (epochs * math.ceil(N / batch))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--markdown", help="also write the table to this file")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: timing mdnlite alone", file=sys.stderr)
    device = "cuda" if args.backend == "cupy" else "cpu"

    rows = []
    for name, config, steps, epochs in CONFIGS:
        X, y = make_data(config, steps)
        ours, theirs = [], []
        for _ in range(args.repeats):  # interleaved: both see the same machine state
            # a pause before each run lets the other library's worker threads (OpenMP,
            # OpenBLAS), which spin for a while after their last task, go idle
            time.sleep(PAUSE)
            ours.append(time_mdnlite(config, X, y, epochs, args.backend))
            if torch is not None:
                time.sleep(PAUSE)
                theirs.append(time_torch(config, X, y, epochs, device))
        row = [name, statistics.median(ours) * 1e6]
        if theirs:
            row += [statistics.median(theirs) * 1e6, statistics.median(theirs) /
                    statistics.median(ours)]
        rows.append(row)
        print(_format_row(row), flush=True)

    header = ["configuration", "mdnlite µs/step", "PyTorch eager µs/step", "speed-up"]
    lines = ["| " + " | ".join(header[:len(rows[0])]) + " |",
             "|" + "---|" * len(rows[0])]
    lines += ["| " + _format_row(r, sep=" | ") + " |" for r in rows]
    machine = (f"{platform.processor() or platform.machine()}, Python "
               f"{platform.python_version()}, NumPy {np.__version__}"
               + (f", PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"
                  if torch is not None else "")
               + f", backend {args.backend}, median of {args.repeats} interleaved repeats")
    table = "\n".join(lines) + f"\n\n{machine}\n"
    print("\n" + table)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(table)


def _format_row(row, sep="  "):
    cells = [row[0], f"{row[1]:.0f}"]
    if len(row) > 2:
        cells += [f"{row[2]:.0f}", f"{row[3]:.1f}x"]
    return sep.join(cells)


if __name__ == "__main__":
    main()
