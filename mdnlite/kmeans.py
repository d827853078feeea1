"""k-means for initialising EM: k-means++ seeds, then a few of Lloyd's iterations.

The seeds are drawn by a host ``numpy.random.Generator``, so that one seed starts EM in the same
place on every backend; distances are computed on ``xp``, and only the (N,) vector of squared
distances comes to the host, once per seed.
"""

import numpy as np

from .backend import array_module, to_host

__all__ = ["kmeans", "kmeans_plus_plus", "LLOYD_ITERATIONS"]

LLOYD_ITERATIONS = 10  # enough to settle well-separated clusters; EM does the rest


def kmeans_plus_plus(data, K, rng):
    """Indices of K seed rows: the first uniform, each next one drawn with probability
    proportional to its squared distance to the nearest seed so far (Arthur & Vassilvitskii).

    Parameters
    ----------
    data : array (N, F)
    K : int <= N
    rng : numpy.random.Generator

    Returns
    -------
    list of K ints
    """
    xp = array_module(data)
    N = data.shape[0]
    seeds = [int(rng.integers(N))]
    nearest = ((data - data[seeds[0]]) ** 2).sum(axis=1)  # (N,)
    for _ in range(1, K):
        cdf = np.cumsum(to_host(nearest), dtype=np.float64)
        if cdf[-1] > 0:  # inverse CDF; a point on a seed has zero mass and is never drawn
            seeds.append(min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")),
                             N - 1))
        else:  # every point coincides with a seed
            seeds.append(int(rng.integers(N)))
        nearest = xp.minimum(nearest, ((data - data[seeds[-1]]) ** 2).sum(axis=1))
    return seeds


def kmeans(data, K, rng, n_iter=LLOYD_ITERATIONS):
    """Hard k-means assignments as one-hot responsibilities (N, K), on the device of ``data``.

    Starts from ``kmeans_plus_plus`` seeds and runs at most ``n_iter`` Lloyd iterations
    (assign each point to its nearest centre, move each centre to the mean of its points),
    stopping early when no assignment changes. A centre left without points stays put.
    """
    xp = array_module(data)
    centres, labels = data[kmeans_plus_plus(data, K, rng)], None  # (K, F)
    for _ in range(max(n_iter, 1)):
        new = ((data[:, None, :] - centres) ** 2).sum(axis=2).argmin(axis=1)  # (N,)
        if labels is not None and bool((new == labels).all()):
            break
        labels = new
        one_hot = (labels[:, None] == xp.arange(K)).astype(data.dtype)  # (N, K)
        counts = one_hot.sum(axis=0)[:, None]  # (K, 1)
        sums = xp.matmul(one_hot.T, data)  # (K, F)
        centres = xp.where(counts > 0, sums / xp.maximum(counts, 1), centres)
    return one_hot
