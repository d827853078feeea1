"""Backend choice, dtype policy, and the CuPy path exercised without a GPU.

``strict`` (tests/strict_backend.py) stands in for CuPy: every public function of mdnlite runs
on it, so code that would mix host NumPy arrays with device arrays fails here, on CI.
"""

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import mdnlite
from mdnlite import backend, gradcheck, mixture
from mdnlite.backend import get_xp, resolve_dtype, to_host
from mdnlite.exceptions import BackendUnavailableError
from mdnlite.heads.mixture import COVARIANCES, SCALE_ACTIVATIONS, MixtureHead
from mdnlite.nn.layers import ACTIVATIONS, make_activation
from mdnlite.nn.optim import OPTIMIZERS, make_optimizer

from strict_backend import DeviceArray, HostDeviceMixError, strict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- choosing a backend ------------------------------------------------------------------

def test_numpy_backend_and_bad_names():
    assert get_xp("numpy") is np
    with pytest.raises(ValueError, match="backend must be"):
        get_xp("torch")
    with pytest.raises(TypeError, match="backend must be"):
        get_xp(3)


def fake_cupy(n_devices):
    module = types.ModuleType("cupy")
    module.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: n_devices))
    return module


def test_missing_cupy_gives_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install cupy-cuda12x") as info:
        get_xp("cupy")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert get_xp("auto") is np


def test_cupy_without_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(0))
    with pytest.raises(BackendUnavailableError, match="no CUDA device"):
        get_xp("cupy")
    assert get_xp("auto") is np


def test_cupy_with_device_is_chosen(monkeypatch):
    cupy = fake_cupy(1)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    assert get_xp("cupy") is cupy
    assert get_xp("auto") is cupy


def test_importing_mdnlite_never_imports_cupy(tmp_path):
    # a poisoned cupy on the path: importing it at all fails the test
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("raise RuntimeError('cupy was imported')\n")
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import mdnlite
        head = mdnlite.MixtureHead(2, 1)
        net = mdnlite.mlp([1, 4, head.n_outputs], rng=np.random.default_rng(0))
        loss, cache = head.nll_forward(net.forward(np.ones((3, 1), np.float32)),
                                       np.ones((3, 1), np.float32))
        net.backward(head.nll_backward(cache))
        assert "cupy" not in sys.modules, "cupy was imported"
        print("ok")
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("dtype", [None, "float32", np.float32, np.dtype("float32")])
def test_float32_is_the_default(dtype):
    assert resolve_dtype(dtype) == np.float32


def test_float64_on_request():
    assert resolve_dtype("float64") == np.float64 and resolve_dtype(np.float64) == np.float64


@pytest.mark.parametrize("dtype", ["float16", np.int64, "int32", complex, "bogus", object])
def test_other_dtypes_are_refused(dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        resolve_dtype(dtype)


def test_logsumexp_is_exact_for_huge_and_tiny_values():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, -np.inf]])
    np.testing.assert_allclose(backend.logsumexp(a, axis=1),
                               [1000 + np.log(2), -1000 + np.log(2), 0.0], rtol=1e-15)
    np.testing.assert_allclose(np.exp(backend.log_softmax(a[:2], axis=1)), 0.5, rtol=1e-15)


# --- the strict stand-in is strict ------------------------------------------------------

def test_strict_backend_refuses_mixing():
    d = strict.asarray(np.ones(3))
    with pytest.raises(HostDeviceMixError):
        d + np.ones(3)
    with pytest.raises(HostDeviceMixError):
        np.asarray(d)
    with pytest.raises(HostDeviceMixError):
        np.sum(d)
    with pytest.raises(HostDeviceMixError):
        strict.matmul(d, np.ones(3))
    assert isinstance(d * 2.0 + strict.exp(d), DeviceArray)
    np.testing.assert_array_equal(to_host(d), np.ones(3))


# --- every public function on the strict backend ----------------------------------------

def _host(a):
    return to_host(a) if isinstance(a, DeviceArray) else a


def _on(xp, a):
    return xp.asarray(a)


def _layer_and_network_case(xp):
    rng = np.random.default_rng(0)
    results = {}
    x = _on(xp, rng.normal(size=(5, 3)))
    dy = _on(xp, rng.normal(size=(5, 4)))
    for name in ACTIVATIONS:
        act = make_activation(name)
        act.forward(x)
        results[name] = act.backward(_on(xp, rng.normal(size=(5, 3))))
    dense = mdnlite.Dense(3, 4, rng=np.random.default_rng(1), xp=xp, dtype=np.float64)
    results["dense_y"] = dense.forward(x)
    results["dense_dx"] = dense.backward(dy)
    results["dense_dW"] = dense.grads[0]
    return results


def _head_case(xp, covariance, scale_activation):
    rng = np.random.default_rng(2)
    head = MixtureHead(3, 2, covariance, scale_activation, min_scale=0.01)
    z = _on(xp, rng.normal(size=(6, head.n_outputs)))
    y = _on(xp, rng.normal(size=(6, 2)))
    loss, cache = head.nll_forward(z, y)
    dz = head.nll_backward(cache)
    m = head.mixture(z)
    return {
        "loss": loss,
        "dz": dz,
        "split": head.split(z).scales,
        "log_prob": mixture.log_prob(y, *m),
        "resp": mixture.responsibilities(y, *m),
        "mean": mixture.mean(m.log_weights, m.means),
        "variance": mixture.variance(*m),
        "covariance": mixture.covariance(*m),
        "mode": mixture.approx_mode(m.log_weights, m.means),
        "sample": mixture.sample(*m, n_samples=4, rng=3),
        "sample_cold": mixture.sample(*m, n_samples=2, rng=3, temperature=0,
                                      sigma_temperature=0.5),
        "log_comp": mixture.component_log_density(y, m.means, m.scales)[0],
    }


def _training_case(xp, optimizer):
    head = MixtureHead(2, 1, "isotropic", "softplus")
    net = mdnlite.mlp([1, 5, head.n_outputs], "relu", rng=np.random.default_rng(4),
                      backend=xp, dtype="float64")
    opt = make_optimizer(optimizer, learning_rate=0.01, weight_decay=1e-3, clip_norm=1.0)
    opt_flat = make_optimizer(optimizer, learning_rate=0.01)
    rng = np.random.default_rng(5)
    x, y = _on(xp, rng.normal(size=(8, 1))), _on(xp, rng.normal(size=(8, 1)))
    for _ in range(3):
        loss, cache = head.nll_forward(net.forward(x), y)
        net.backward(head.nll_backward(cache))
        opt.step(net.params, net.grads)
        opt_flat.step([net.flat_params], [net.flat_grads])  # the flat form works as well

    def f():
        return head.nll_forward(net.forward(x), y)[0]

    _, cache = head.nll_forward(net.forward(x), y)
    net.backward(head.nll_backward(cache))
    grads = [g.copy() for g in net.grads]
    return {
        "params": net.flat_params,
        "loss": loss,
        "directional": gradcheck.directional_derivative_error(f, net.params, grads, rng=0),
        "numerical": gradcheck.gradient_error(f, net.params[-1], grads[-1]),
        "lse": backend.logsumexp(x, axis=0),
        "lsm": backend.log_softmax(x, axis=0),
    }


CASES = [("layers", _layer_and_network_case, ())]
CASES += [(f"head-{c}-{a}", _head_case, (c, a)) for c in COVARIANCES for a in SCALE_ACTIVATIONS]
CASES += [(f"train-{o}", _training_case, (o,)) for o in OPTIMIZERS]

# the public names these cases call (and, for the estimators, the strict-backend test in
# test_estimator.py; plot in test_plot.py; datasets return host data); a new public function
# must join them
EXERCISED = {
    "mdnlite": {"Dense", "ELU", "Identity", "MixtureHead", "ReLU", "Sigmoid", "Softplus", "Tanh",
                "Sequential", "mlp", "SGD", "RMSProp", "Adam", "get_xp", "resolve_dtype",
                "to_host", "BackendUnavailableError", "gradcheck", "mixture",
                "MDN", "Regressor", "load", "MixtureParameters", "EarlyStopping",
                "ReduceLROnPlateau", "Callback", "NonFiniteLossError", "NotFittedError",
                "ModelFileError", "datasets", "plot",
                "DivergenceWarning",  # test_adversarial_training.py, on the strict backend
                "Parallel", "OverfittingWarning",  # test_generalisation.py, on the strict backend
                "ScalingWarning",  # test_adversarial_edges.py, on the strict backend
                "GaussianMixture",  # test_gmm.py covers it on the strict backend
                "config_context", "get_config", "set_config"},  # test_resources.py, strict
    "mixture": {"Mixture", "log_prob", "responsibilities", "mean", "variance", "covariance",
                "approx_mode", "sample", "component_log_density",
                # the predictive distribution: test_predictive.py, on the strict backend
                "cdf", "quantiles", "central_interval", "highest_density_intervals", "modes",
                "mode", "effective_components", "crps", "energy_score", "pit", "calibration",
                "interval_coverage"},
    "gradcheck": {"numerical_gradient", "relative_error", "gradient_error",
                  "directional_derivative_error"},
}


def test_every_public_function_is_exercised_on_the_strict_backend():
    public = {"mdnlite": mdnlite.__all__, "mixture": mixture.__all__,
              "gradcheck": gradcheck.__all__}
    for module, names in public.items():
        assert set(names) <= EXERCISED[module], f"{module}: add a strict-backend case"


@pytest.mark.parametrize("case", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strict_backend_matches_numpy(case):
    run, args = case
    on_device = run(strict, *args)
    on_host = run(np, *args)
    assert on_device.keys() == on_host.keys()
    for key in on_host:
        device_value = on_device[key]
        if isinstance(on_host[key], np.ndarray):
            assert isinstance(device_value, DeviceArray), f"{key} came back on the host"
        np.testing.assert_array_equal(_host(device_value), _host(on_host[key]), err_msg=key)
