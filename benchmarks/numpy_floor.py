"""How fast can a NumPy training step of a tiny MDN be? A lower bound, for context.

The PyTorch article's model (1-5-5 relu, K=3, exp scales with a floor, batch 300) written as
one straight-line function: every array operation of forward, NLL, closed-form backward and
Adam, and nothing else (no layers, no checks, no batching, no loss bookkeeping). Each NumPy
call on such small arrays costs about a microsecond whatever it computes, so this is close to
the fastest any NumPy implementation of the step can be; compare it with ``MDN.fit``'s time
per step in bench_training.py.

    python benchmarks/numpy_floor.py
"""

import math
import timeit

import numpy as np


def main():
    rng = np.random.default_rng(0)
    N, K, floor, lr = 300, 3, 1e-3, 1e-3
    f32 = np.float32
    x = rng.uniform(0, 1, (N, 1)).astype(f32)
    y = rng.uniform(0, 1, (N, 1)).astype(f32)
    flat = (rng.standard_normal(5 + 5 + 25 + 5 + 45 + 9) * 0.3).astype(f32)
    grads = np.zeros_like(flat)
    moment1, moment2 = np.zeros_like(flat), np.zeros_like(flat)
    shapes = [(1, 5), (5,), (5, 5), (5,), (5, 9), (9,)]
    views, gviews, o = [], [], 0
    for shape in shapes:
        n = math.prod(shape)
        views.append(flat[o:o + n].reshape(shape))
        gviews.append(grads[o:o + n].reshape(shape))
        o += n
    W1, b1, W2, b2, W3, b3 = views
    dW1, db1, dW2, db2, dW3, db3 = gviews
    ones = np.ones(N, f32)
    t = [0]

    def step():
        h1 = x * W1
        h1 += b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2
        h2 += b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3
        z += b3
        zt = np.ascontiguousarray(z.T)
        logits, mu, s = zt[:K], zt[K:2 * K], zt[2 * K:]
        mx = logits.max(0, keepdims=True)
        log_w = logits - mx
        w = np.exp(log_w)
        total = w.sum(0, keepdims=True)
        w /= total
        log_w -= np.log(total)
        a = np.exp(s)
        sigma = a + floor
        u = y.T - mu
        u /= sigma
        lc = u * u
        lc *= -0.5
        lc -= np.log(sigma)
        lc += log_w
        mx2 = lc.max(0, keepdims=True)
        lc -= mx2
        g = np.exp(lc)
        total2 = g.sum(0, keepdims=True)
        g /= total2
        loss = (np.log(total2).sum() + mx2.sum()) * (-1.0 / N)
        dzt = np.empty((3 * K, N), f32)
        np.subtract(w, g, out=dzt[:K])
        dzt[:K] *= 1.0 / N
        g *= -1.0 / N
        gu = g * u
        np.divide(gu, sigma, out=dzt[K:2 * K])
        gu *= u
        gu -= g
        gu /= sigma
        np.multiply(gu, a, out=dzt[2 * K:])
        dz = dzt.T
        np.matmul(a2.T, dz, out=dW3)
        np.matmul(ones, dz, out=db3)
        d2 = dz @ W3.T
        d2 *= a2 > 0
        np.matmul(a1.T, d2, out=dW2)
        np.matmul(ones, d2, out=db2)
        d1 = d2 @ W2.T
        d1 *= a1 > 0
        np.matmul(x.T, d1, out=dW1)
        np.matmul(ones, d1, out=db1)
        t[0] += 1
        c1, c2 = 1 - 0.9 ** t[0], math.sqrt(1 - 0.999 ** t[0])
        np.multiply(moment1, 0.9, out=moment1)
        np.add(moment1, 0.1 * grads, out=moment1)
        np.multiply(moment2, 0.999, out=moment2)
        np.add(moment2, 0.001 * (grads * grads), out=moment2)
        upd = np.sqrt(moment2)
        upd += 1e-8 * c2
        np.divide(moment1, upd, out=upd)
        upd *= lr * c2 / c1
        np.subtract(flat, upd, out=flat)
        return loss

    n = 5000
    best = min(timeit.repeat(step, number=n, repeat=5)) / n
    print(f"straight-line NumPy step, 1-5-5 relu, K=3, batch 300: {best * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
