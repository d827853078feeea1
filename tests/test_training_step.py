"""The training step's layout and its kept buffers: the last layer writes zᵀ for the head, the
full-covariance head never assembles L, activations written without branches equal their
two-branch definitions bit for bit, the optimizers' scratch arrays change no result, and an
epoch reads from the device only at its end.
"""

import copy
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mdnlite
from mdnlite.estimators import training
from mdnlite.heads.mixture import SCALE_ACTIVATIONS, MixtureHead
from mdnlite.mixture import cholesky
from mdnlite.nn.layers import ELU, Dense, ReLU
from mdnlite.nn.optim import make_optimizer

from strict_backend import DeviceArray, strict


@pytest.fixture(scope="module")
def tiny(tiny):
    """The shared smallest settings, in batches of 32."""
    return dict(tiny, batch_size=32)


def _data(N=120, D=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (N, 1))
    y = np.sin(3 * X) + 0.1 * rng.standard_normal((N, D))
    return X, y


# --- the last layer writes zᵀ -----------------------------------------------------------------

@pytest.mark.parametrize("n_in", [1, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_writes_its_output_transposed_on_request(n_in, dtype):
    layer = Dense(n_in, 5, rng=np.random.default_rng(0), dtype=dtype)
    layer.params[1][...] = np.arange(5)  # a bias that shows which way it runs
    x = np.random.default_rng(1).standard_normal((11, n_in)).astype(dtype)
    yt = layer.apply(x, transpose=True)
    assert yt.shape == (5, 11) and yt.flags.c_contiguous and yt.dtype == dtype
    if n_in == 1:  # an outer product: one product per entry, whichever way it is written
        np.testing.assert_array_equal(yt, layer.apply(x).T)
    else:
        np.testing.assert_allclose(yt, layer.apply(x).T, rtol=10 * np.finfo(dtype).eps,
                                   atol=10 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(layer.forward(x, transpose=True), yt)


def test_a_network_gives_the_same_gradients_after_a_transposed_forward():
    X, _ = _data(40)
    net = mdnlite.mlp([1, 6, 6, 9], "tanh", rng=np.random.default_rng(0), dtype=np.float64)
    dz = np.random.default_rng(2).standard_normal((40, 9))
    z = net.forward(X)
    net.backward(dz)
    plain = net.flat_grads.copy()
    zt = net.forward(X, transpose=True)
    net.backward(np.ascontiguousarray(dz.T).T)  # dz as the head hands it back: a transposed view
    np.testing.assert_allclose(zt, z.T, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(net.flat_grads, plain, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.predict(X, transpose=True), z.T, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_the_head_trains_on_the_last_layers_own_array(covariance, monkeypatch, tiny):
    """What the training step hands the head is the array the last layer wrote, (n_outputs,
    B) and C-contiguous: no z.T copy between them."""
    X, y = _data(96, D=2)
    written, seen = [], []
    real_apply, real_loss = Dense.apply, MixtureHead.nll_forward_t

    def apply(self, x, transpose=False):
        out = real_apply(self, x, transpose)
        if transpose:
            written.append(out)
        return out

    def spy(self, zt, targets):
        seen.append((zt, zt.flags.c_contiguous))
        return real_loss(self, zt, targets)

    monkeypatch.setattr(Dense, "apply", apply)
    monkeypatch.setattr(MixtureHead, "loss_forward_t", spy)
    model = mdnlite.MDN(3, n_members=1, covariance=covariance, **tiny).fit(X, y)
    n_out = model.head_.n_outputs
    steps = [(zt, c) for zt, c in seen if zt.shape[1] == 32]  # the training batches
    assert len(steps) == 3 * 3
    assert all(zt.shape == (n_out, 32) and c for zt, c in steps)
    assert all(any(zt is w for w in written) for zt, _ in steps)


def test_the_public_nll_forward_still_takes_z():
    head = MixtureHead(3, 2, "full")
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((10, head.n_outputs)), rng.standard_normal((10, 2))
    loss, _ = head.nll_forward(z, y)
    loss_t, _ = head.nll_forward_t(np.ascontiguousarray(z.T), y)
    assert float(loss) == float(loss_t)
    assert head.nll_backward(head.nll_forward(z, y)[1]).shape == z.shape


@pytest.mark.parametrize("covariance", ["isotropic", "diagonal", "full"])
def test_the_training_step_is_the_five_public_lines(covariance):
    """training_step (what fit runs) equals the README's five lines, written with the
    public, checked functions on z itself."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((32, 3)), rng.standard_normal((32, 2))
    head = MixtureHead(3, 2, covariance)
    nets = [mdnlite.mlp([3, 8, head.n_outputs], "tanh", rng=np.random.default_rng(0),
                        dtype=np.float64) for _ in range(2)]
    optimizers = [mdnlite.Adam(learning_rate=1e-2) for _ in range(2)]
    for _ in range(3):
        net, opt = nets[0], optimizers[0]
        z = net.forward(X)
        loss, cache = head.nll_forward(z, y)
        dz = head.nll_backward(cache)
        net.backward(dz)
        opt.step([net.flat_params], [net.flat_grads])
        stepped = training.training_step(nets[1], head, optimizers[1], X, y)
        assert float(stepped) == pytest.approx(float(loss), rel=1e-14)
    np.testing.assert_allclose(nets[1].flat_params, nets[0].flat_params, rtol=1e-12, atol=1e-14)


def test_fit_runs_the_public_training_step(monkeypatch, tiny):
    calls, real_step = [], training.training_step

    def counted(*args):
        calls.append(args[3].shape[0])
        return real_step(*args)

    monkeypatch.setattr(training, "training_step", counted)
    X, y = _data(96, D=2)
    mdnlite.MDN(3, n_members=1, **tiny).fit(X, y)
    assert calls == [32] * 9  # 3 epochs of 3 batches of 32 rows


# --- the full-covariance head never assembles L -----------------------------------------------

def test_training_a_full_covariance_model_builds_no_dense_factor(monkeypatch, tiny):
    inside, built = [False], []
    real_factors, real_epoch = cholesky.factors, training.run_epoch

    def factors(*args):
        built.append(inside[0])
        return real_factors(*args)

    def run_epoch(*args, **kwargs):
        inside[0] = True
        try:
            return real_epoch(*args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(cholesky, "factors", factors)
    monkeypatch.setattr(training, "run_epoch", run_epoch)
    X, y = _data(96, D=3)
    model = mdnlite.MDN(2, n_members=1, covariance="full", **tiny).fit(X, y)
    assert len(model.loss_curve_) == 3 and np.isfinite(model.loss_curve_).all()
    assert True not in built  # the end-of-fit checks, outside the epochs, may build L
    assert model.predict_mixture(X[:4]).scales.shape == (4, 2, 3, 3)


def test_a_triangular_view_reads_like_the_dense_factor():
    rng = np.random.default_rng(0)
    D, K, N = 4, 3, 5
    diagonal = rng.uniform(0.5, 2, (D, K, N))
    lower = rng.standard_normal((cholesky.n_lower(D), K, N))
    L = cholesky.factors(diagonal, lower)
    view = cholesky.Triangular(diagonal, lower)
    assert view.shape == L.shape
    for i in range(D):
        for j in range(i + 1):
            np.testing.assert_array_equal(view[i, j], L[i, j])
        for j in range(i + 1, D):
            with pytest.raises(IndexError, match="above the diagonal"):
                view[i, j]
    r = rng.standard_normal((D, K, N))
    g = rng.standard_normal((K, N))
    for dense, triangular in zip(cholesky.log_density(r, L), cholesky.log_density(r, view)):
        np.testing.assert_array_equal(dense, triangular)
    v = cholesky.log_density(r, L)[1]
    dense = cholesky.log_density_gradients(g, v, L)
    triangular = cholesky.log_density_gradients(g, v, view)
    for a, b in zip(dense[:2] + tuple(dense[2]), triangular[:2] + tuple(triangular[2])):
        np.testing.assert_array_equal(a, b)


# --- activations without branches equal their two-branch definitions -------------------------

SPECIAL = [0.0, -0.0, 1e-45, -1e-45, 1e-30, -1e-30, 1.0, -1.0, 88.0, 89.0, -104.0, 1e30, -1e30,
           3e38, -3e38, np.inf, -np.inf]
finite_or_not = st.floats(allow_nan=False, width=32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(values=arrays(np.float32, st.integers(1, 40), elements=finite_or_not))
def test_branch_free_activations_equal_their_definitions_bit_for_bit(dtype, values):
    with np.errstate(over="ignore"):
        s = np.concatenate([values, np.array(SPECIAL, dtype=np.float32)]).astype(dtype)
        elu1 = np.where(s > 0, s + 1, np.exp(np.minimum(s, 0)))
        bits = np.uint32 if dtype == np.float32 else np.uint64
        same_bits = lambda a, b: np.testing.assert_array_equal(a.view(bits), b.view(bits))  # noqa: E731
        same_bits(SCALE_ACTIVATIONS["elu1"].forward(s), elu1)
        elu = ELU()
        y = elu.forward(s)
        same_bits(y, np.where(s > 0, s, np.expm1(np.minimum(s, 0))))
        dy = np.linspace(-2, 2, s.size).astype(dtype)
        same_bits(elu.backward(dy), dy * np.where(y > 0, 1.0, y + 1.0))
        relu = ReLU()
        np.testing.assert_array_equal(relu.forward(s), np.maximum(s, 0))
        np.testing.assert_array_equal(relu.apply(s), np.maximum(s, 0))


def test_relu_keeps_zeros_per_batch_size_and_no_copy_carries_them():
    relu = ReLU()
    rng = np.random.default_rng(0)
    for n in (5, 5, 3, 7):
        x = rng.standard_normal((n, 4))
        x[0, 0] = np.nan
        y = relu.forward(x)
        assert np.isnan(y[0, 0])
        np.testing.assert_array_equal(y[1:], np.maximum(x[1:], 0))
        assert relu._zeros.shape == x.shape and not relu._zeros.any()
    assert "_zeros" not in pickle.loads(pickle.dumps(relu)).__dict__
    assert "_zeros" not in copy.deepcopy(relu).__dict__
    x = rng.standard_normal((7, 4))
    relu.forward(x)  # zeros in float64, then a float32 batch of the same shape
    assert relu.forward(x.astype(np.float32)).dtype == np.float32


def test_activations_keep_the_gradients_dtype():
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    dy = np.ones((3, 4))  # float64
    for layer in (ELU(), ReLU()):
        layer.forward(x)
        assert layer.backward(dy).dtype == np.float64


def test_a_network_ending_in_an_activation_trains_transposed_too():
    net = mdnlite.Sequential([Dense(1, 4, rng=np.random.default_rng(0), dtype=np.float64),
                              ELU()])
    x = np.linspace(-1, 1, 6)[:, None]
    zt = net.forward(x, transpose=True)
    assert zt.flags.c_contiguous
    np.testing.assert_array_equal(zt, net.forward(x).T)
    np.testing.assert_array_equal(net.predict(x, transpose=True), net.predict(x).T)


# --- the optimizers' scratch arrays ------------------------------------------------------------

def _reference_adam(p, grads, lr, b1, b2, eps, decay):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = g + decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_adam_with_scratch_arrays_follows_its_definition(decay):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (1,)]
    params = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(6)]
    opt = make_optimizer("adam", learning_rate=0.05, weight_decay=decay)
    start = [p.copy() for p in params]
    for step in grads:
        given_grads = [g.copy() for g in step]
        opt.step(params, step)
        for g, before in zip(step, given_grads):  # the caller's gradients are not touched
            np.testing.assert_array_equal(g, before)
    for i in range(len(shapes)):
        expected = _reference_adam(start[i], [step[i] for step in grads], 0.05, 0.9, 0.999,
                                   1e-8, decay)
        np.testing.assert_allclose(params[i], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_scratch_arrays_are_not_copied_and_follow_new_shapes(name):
    opt = make_optimizer(name, learning_rate=0.01)
    p, g = [np.ones(5)], [np.full(5, 0.5)]
    opt.step(p, g)
    assert opt._scratch
    assert copy.deepcopy(opt)._scratch == {} and pickle.loads(pickle.dumps(opt))._scratch == {}
    twin, q = copy.deepcopy(opt), [p[0].copy()]
    opt.step(p, g)
    twin.step(q, g)  # without its scratch arrays, the copy takes the same step
    np.testing.assert_array_equal(q[0], p[0])
    fresh = make_optimizer(name, learning_rate=0.01)
    for n in (5, 3):  # other parameters: fresh state and scratch arrays of their shapes
        fresh.state = None
        fresh.step([np.ones(n)], [np.full(n, 0.5)])


# --- an epoch reads from the device at its end only --------------------------------------------

def test_an_epoch_reads_from_the_device_twice_at_its_end_whatever_its_steps(monkeypatch, tiny):
    """The loss and the flag saying the weights are finite, which is queued before the loss
    is read; the steps themselves read nothing."""
    reads = []
    for method in ("__float__", "__bool__", "__int__", "__index__", "get"):
        real = getattr(DeviceArray, method)

        def counted(self, *args, _real=real, _name=method):
            reads.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(DeviceArray, method, counted)
    X, y = _data(200)
    model = mdnlite.MDN(2, n_members=1, backend=strict, **dict(tiny, max_epochs=1, warm_start=True))
    model.fit(X, y)
    counts = []
    for epochs in (2, 5):
        model.set_params(max_epochs=epochs)
        del reads[:]
        model.fit(X, y)
        counts.append(len(reads))
    assert counts[1] - counts[0] == 2 * (5 - 2)  # 7 steps an epoch, 2 reads


def test_subnormal_weights_are_flushed_every_few_epochs(monkeypatch, tiny):
    X, y = _data(64)
    flushed = []
    model = mdnlite.MDN(2, n_members=1, weight_decay=1e-3, **dict(tiny, max_epochs=1, warm_start=True))
    model.fit(X, y)
    real = model.optimizer_.flush_subnormals
    monkeypatch.setattr(model.optimizer_, "flush_subnormals",
                        lambda params: flushed.append(model.n_epochs_) or real(params))
    model.set_params(max_epochs=2 * training.FLUSH_EVERY + 1).fit(X, y)
    assert flushed == [training.FLUSH_EVERY - 1, 2 * training.FLUSH_EVERY - 1]  # epochs 16, 32
    model.set_params(weight_decay=0.0).fit(X, y)  # nothing to flush without weight decay
    assert len(flushed) == 2
