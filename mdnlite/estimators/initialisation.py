"""Data-driven starts: k-means, and an MDN's output layer set from it (Netlab's ``mdninit``).

k-means++ seeds (drawn by a host ``numpy.random.Generator``, so that one seed starts in the
same place on every backend) then a few of Lloyd's iterations, on ``xp``; the GaussianMixture
starts EM from it. For an MDN (Bishop 1994):

Before training, the output layer gets small weights and biases that make the initial
mixture, for every input, a k-means fit of the (standardised) targets: means at the cluster
centres, scales from the spread of each cluster, equal weights. Training then starts from a
mixture that already covers the targets instead of K components piled up near 0.
"""

import numpy as np

from ..backend import array_module, to_host

__all__ = ["mdninit", "inverse_scale_activation", "kmeans", "kmeans_plus_plus", "MAX_ROWS",
           "WEIGHT_SCALE", "LLOYD_ITERATIONS"]

MAX_ROWS = 10_000  # k-means runs on at most this many targets, drawn at random
WEIGHT_SCALE = 0.1  # the output weights shrink by this factor: the biases speak first


def inverse_scale_activation(name, sigma):
    """s with act(s) = sigma for the scale activations of ``heads.mixture.SCALE_ACTIVATIONS``."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if name == "exp":
        return np.log(sigma)
    if name == "softplus":  # log(e^σ - 1), written so that large σ does not overflow
        return sigma + np.log(-np.expm1(-sigma))
    if name == "elu1":
        return np.where(sigma > 1, sigma - 1, np.log(np.minimum(sigma, 1)))
    raise ValueError(f"unknown scale activation {name!r}")


def mdninit(head, layer, y, rng):
    """Set the output ``layer`` (a ``nn.Dense``) of an MDN with ``head`` from targets y.

    Parameters
    ----------
    head : heads.MixtureHead
    layer : layers.Dense
        The last layer; its outputs are the raw head outputs z.
    y : array (N, D)
        Standardised training targets, on any device.
    rng : numpy.random.Generator
        Host generator for the subsample and the k-means seeds.

    Notes
    -----
    With C = min(K, N) clusters, component k takes cluster k mod C: its mean is the centre,
    its scale (the diagonal of L for covariance "full") the root mean square distance of
    the cluster's points to the centre per dimension (for "isotropic", averaged over the
    dimensions), at least 0.05 and at least 2 min_scale; the rest of z starts at 0: equal
    weights, L diagonal. The weights are the layer's random ones times ``WEIGHT_SCALE``, so
    the mixture still varies a little with x and every gradient flows from the first step.
    """
    y = np.asarray(to_host(y), dtype=np.float64)
    if y.shape[0] > MAX_ROWS:
        y = y[rng.choice(y.shape[0], MAX_ROWS, replace=False)]
    K, N = head.n_components, y.shape[0]
    C = min(K, N)
    one_hot = to_host(kmeans(y, C, rng))  # (N, C)
    counts = one_hot.sum(axis=0)  # (C,)
    centres = one_hot.T @ y / np.maximum(counts, 1)[:, None]  # (C, D)
    spread = _spread(y, one_hot, centres)  # (C, D)
    if head.covariance == "isotropic":
        spread = spread.mean(axis=1, keepdims=True)  # (C, 1)
    sigma = np.maximum(spread, max(0.05, 2 * head.min_scale))
    pre = inverse_scale_activation(head.scale_activation, sigma - head.min_scale)
    component = np.arange(K) % C
    W, b = layer.params
    W *= WEIGHT_SCALE
    bias = np.zeros((1, b.shape[0]))
    parts = head.split(bias)  # named views of the one bias row
    parts.means[0] = centres[component]
    parts.scale_inputs[0] = pre[component]
    b[...] = array_module(b).asarray(bias[0], dtype=b.dtype)


def _spread(y, one_hot, centres):
    """Root mean square distance of each cluster's points to its centre, per dimension (C, D);
    the overall spread for clusters of fewer than two points."""
    D = y.shape[1]
    squares = np.zeros((one_hot.shape[1], D))
    for c in range(one_hot.shape[1]):
        members = y[one_hot[:, c] > 0]
        if members.shape[0] >= 2:
            squares[c] = ((members - centres[c]) ** 2).mean(axis=0)
        else:
            squares[c] = y.var(axis=0) / max(one_hot.shape[1], 1)
    return np.sqrt(squares)


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
