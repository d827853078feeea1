"""The CuPy backend on a real device: same seed, same numbers as NumPy (to float rounding).

Marked ``gpu``: skipped cleanly where CuPy or a CUDA device is missing.
"""

import numpy as np
import pytest

import mdnlite
from mdnlite import mixture
from mdnlite.backend import get_xp, to_host
from mdnlite.heads.mixture import COVARIANCES, SCALE_ACTIVATIONS, MixtureHead
from mdnlite.nn.gradcheck import gradient_error
from mdnlite.nn.optim import make_optimizer

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    return get_xp("cupy")


@pytest.mark.parametrize("covariance", COVARIANCES)
@pytest.mark.parametrize("scale_activation", sorted(SCALE_ACTIVATIONS))
def test_head_matches_numpy(cp, covariance, scale_activation):
    rng = np.random.default_rng(0)
    head = MixtureHead(4, 3, covariance, scale_activation, min_scale=0.01)
    z = rng.normal(size=(64, head.n_outputs))
    y = rng.normal(size=(64, 3))
    loss_h, cache_h = head.nll_forward(z, y)
    loss_d, cache_d = head.nll_forward(cp.asarray(z), cp.asarray(y))
    assert isinstance(loss_d, cp.ndarray)
    np.testing.assert_allclose(float(loss_d), float(loss_h), rtol=1e-12)
    np.testing.assert_allclose(to_host(head.nll_backward(cache_d)), head.nll_backward(cache_h),
                               rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("covariance, K, D, N", [("diagonal", 3, 2, 5), ("full", 2, 3, 4)])
def test_head_gradient_on_device(cp, covariance, K, D, N):
    rng = np.random.default_rng(1 if covariance == "diagonal" else 7)
    head = MixtureHead(K, D, covariance, "softplus", min_scale=0.05)
    z = cp.asarray(rng.normal(size=(N, head.n_outputs)))
    y = cp.asarray(rng.normal(size=(N, D)))
    _, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    assert gradient_error(lambda: head.nll_forward(z, y)[0], z, dz) <= 1e-6


def train_on_both(cp, head, x, y, optimizer, seed, steps=20):
    """The same float32 network trained ``steps`` steps on NumPy and on the device: the two
    final parameter vectors, on the host."""
    results = []
    for backend, xs, ys in (("numpy", x, y), (cp, cp.asarray(x), cp.asarray(y))):
        net = mdnlite.mlp([1, 32, 32, head.n_outputs], "tanh", rng=np.random.default_rng(seed),
                          backend=backend)
        opt = make_optimizer(optimizer, learning_rate=1e-3, clip_norm=10.0)
        for _ in range(steps):
            loss, cache = head.nll_forward(net.forward(xs), ys)
            net.backward(head.nll_backward(cache))
            opt.step([net.flat_params], [net.flat_grads])
        assert net.flat_params.dtype == np.float32
        results.append(to_host(net.flat_params))
    return results


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
def test_training_steps_match_numpy(cp, optimizer):
    head = MixtureHead(5, 1, "diagonal", "exp", min_scale=1e-3)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(256, 1)).astype(np.float32), rng.normal(size=(256, 1)).astype(np.float32)
    host, device = train_on_both(cp, head, x, y, optimizer, seed=3)
    np.testing.assert_allclose(device, host, rtol=1e-3, atol=1e-5)


def test_samples_match_numpy_for_one_seed(cp):
    rng = np.random.default_rng(4)
    log_w = np.log(rng.dirichlet(np.ones(3), size=10))
    means, scales = rng.normal(size=(10, 3, 2)), rng.uniform(0.1, 1, size=(10, 3, 2))
    host = mixture.sample(log_w, means, scales, n_samples=7, rng=5)
    device = mixture.sample(cp.asarray(log_w), cp.asarray(means), cp.asarray(scales),
                            n_samples=7, rng=5)
    assert isinstance(device, cp.ndarray)
    np.testing.assert_allclose(to_host(device), host, rtol=1e-12)


# --- full covariance (covariance="full", Cholesky factors) -----------------------------------


@pytest.mark.parametrize("n_dims", [1, 2, 4])
@pytest.mark.parametrize("scale_activation", sorted(SCALE_ACTIVATIONS))
def test_full_head_matches_numpy(cp, scale_activation, n_dims):
    rng = np.random.default_rng(6)
    head = MixtureHead(3, n_dims, "full", scale_activation, min_scale=0.05)
    z = rng.normal(size=(64, head.n_outputs))
    y = rng.normal(size=(64, n_dims))
    loss_h, cache_h = head.nll_forward(z, y)
    loss_d, cache_d = head.nll_forward(cp.asarray(z), cp.asarray(y))
    assert isinstance(loss_d, cp.ndarray)
    np.testing.assert_allclose(float(loss_d), float(loss_h), rtol=1e-10)
    dz_h = head.nll_backward(cache_h)
    dz_d = head.nll_backward(cache_d)
    assert isinstance(dz_d, cp.ndarray) and dz_d.dtype == np.float64
    np.testing.assert_allclose(to_host(dz_d), dz_h, rtol=1e-10,
                               atol=1e-13 * float(np.abs(dz_h).max()))
    # the mixture on the device: factors, log-density and covariance as on the host
    m_h, m_d = head.mixture(z), head.mixture(cp.asarray(z))
    assert m_d.scales.shape == (64, 3, n_dims, n_dims)
    np.testing.assert_allclose(to_host(m_d.scales), m_h.scales, rtol=1e-12)
    np.testing.assert_allclose(to_host(mixture.log_prob(cp.asarray(y), *m_d)),
                               mixture.log_prob(y, *m_h), rtol=1e-10)
    np.testing.assert_allclose(to_host(mixture.covariance(*m_d)), mixture.covariance(*m_h),
                               rtol=1e-10, atol=1e-14)


def test_full_covariance_training_steps_match_numpy(cp):
    head = MixtureHead(3, 2, "full", "softplus", min_scale=1e-3)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(256, 1)).astype(np.float32)
    y = (np.hstack([x, -x]) + 0.3 * rng.normal(size=(256, 2))).astype(np.float32)
    host, device = train_on_both(cp, head, x, y, "adam", seed=9)
    np.testing.assert_allclose(device, host, rtol=1e-3, atol=1e-5)


def test_full_covariance_mdn_fit_matches_numpy(cp):
    rng = np.random.default_rng(10)
    X = rng.uniform(-1, 1, (256, 1))
    noise = rng.standard_normal((256, 2)) @ np.array([[0.1, 0.0], [0.09, 0.044]]).T
    y = np.hstack([X, X]) + noise
    models = []
    for backend, Xs, ys in (("numpy", X, y), (cp, cp.asarray(X), cp.asarray(y))):
        models.append(mdnlite.MDN(2, covariance="full", hidden_sizes=(16,), max_epochs=3,
                                  batch_size=64, random_state=0, backend=backend).fit(Xs, ys))
    host, device = models
    assert device.network_.flat_params.dtype == np.float32
    np.testing.assert_allclose(device.loss_curve_, host.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(to_host(device.get_weights()), to_host(host.get_weights()),
                               rtol=1e-3, atol=1e-5)
    cov_d = device.predict_covariance(cp.asarray(X[:20]))
    assert isinstance(cov_d, cp.ndarray) and cov_d.shape == (20, 2, 2)
    np.testing.assert_allclose(to_host(cov_d), host.predict_covariance(X[:20]), rtol=1e-3,
                               atol=1e-6)
    mix_d, mix_h = device.predict_mixture(cp.asarray(X[:20])), host.predict_mixture(X[:20])
    assert mix_d.scales.shape == (20, 2, 2, 2) and type(mix_d.scales) is np.ndarray
    for part_d, part_h in zip(mix_d, mix_h):
        np.testing.assert_allclose(part_d, part_h, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(to_host(device.score_samples(cp.asarray(X[:20]),
                                                            cp.asarray(y[:20]))),
                               host.score_samples(X[:20], y[:20]), rtol=1e-3, atol=1e-4)
    draws = device.sample(cp.asarray(X[:20]), n_samples=5, random_state=1)
    assert isinstance(draws, cp.ndarray)
    np.testing.assert_allclose(to_host(draws), host.sample(X[:20], n_samples=5, random_state=1),
                               rtol=1e-3, atol=1e-4)
