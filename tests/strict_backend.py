"""A stand-in for CuPy that runs on the CPU and is stricter than CuPy about host/device mixing.

``strict`` is an array module with NumPy's API whose arrays (``DeviceArray``) behave like
device arrays: they refuse implicit conversion to NumPy (``numpy.asarray(a)`` raises, as it
does for a CuPy array), refuse to be combined with host ``numpy.ndarray`` operands, and
refuse NumPy's own functions (``numpy.exp(a)``). Only ``strict.asarray`` (host -> device) and
``strict.asnumpy`` (device -> host) cross the boundary, as in CuPy. Running mdnlite on it
finds every place that would mix host NumPy with device arrays, without a GPU.
"""

import types

import numpy as np


class HostDeviceMixError(TypeError):
    """A host NumPy array met a device array, or a device array was converted implicitly."""


def _unwrap(value):
    """Device arrays -> their data; host ndarrays are refused; containers are walked."""
    if isinstance(value, DeviceArray):
        return value._data
    if isinstance(value, np.ndarray):
        raise HostDeviceMixError(
            f"a host numpy.ndarray {value.shape} was passed where device arrays are expected"
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value  # Python scalars, NumPy scalars, dtypes, slices, None, Ellipsis


def _wrap(value):
    """Results back onto the 'device': arrays and NumPy scalars become DeviceArrays."""
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, np.generic):  # CuPy returns 0-d arrays where NumPy returns scalars
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_function(func):
    def call(*args, **kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = getattr(func, "__name__", "function")
    return call


class DeviceArray(np.lib.mixins.NDArrayOperatorsMixin):
    """An array 'on the device': NumPy data behind a wall that host arrays cannot cross."""

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data

    def __array__(self, dtype=None, copy=None):
        raise HostDeviceMixError(
            "implicit conversion of a device array to a NumPy array; use an explicit "
            "backend.to_host"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        result = getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs))
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        raise HostDeviceMixError(f"numpy.{func.__name__} was called on a device array")

    def __array_namespace__(self, api_version=None):
        return strict

    def __getitem__(self, index):
        return _wrap(self._data[_unwrap(index)])

    def __setitem__(self, index, value):
        self._data[_unwrap(index)] = _unwrap(value)

    def __getattr__(self, name):
        if name.startswith("__"):  # no __array_interface__, __array_struct__, buffers, ...
            raise AttributeError(name)
        value = getattr(self._data, name)
        if callable(value):
            return _device_function(value)
        return _wrap(value)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (_wrap(v) for v in self._data)

    def __float__(self):  # an explicit synchronisation, allowed as in CuPy
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def __index__(self):
        return self._data.__index__()

    def __bool__(self):
        return bool(self._data)

    def __repr__(self):
        return f"DeviceArray({self._data!r})"

    # CuPy's explicit device -> host copy
    def get(self):
        return self._data.copy()


def _asarray(a, dtype=None, **kwargs):
    if isinstance(a, DeviceArray):
        return DeviceArray(np.asarray(a._data, dtype=dtype, **kwargs))
    return DeviceArray(np.array(a, dtype=dtype, copy=True, **kwargs))  # host -> device copies


def _asnumpy(a):
    if isinstance(a, DeviceArray):
        return a._data.copy()
    return np.asarray(a)


class _StrictModule(types.ModuleType):
    """Module whose every NumPy function takes and returns device arrays only.

    ``source`` is the NumPy module it stands for: ``numpy`` itself, or a submodule such as
    ``numpy.linalg`` (CuPy has ``cupy.linalg`` likewise).
    """

    def __init__(self, name, doc=None, source=np):
        super().__init__(name, doc)
        self._source = source

    def __getattr__(self, name):
        value = getattr(self._source, name)
        if callable(value) and not isinstance(value, type):
            return _device_function(value)
        return value  # dtypes (float32, ...), constants (pi, inf, newaxis), LinAlgError


strict = _StrictModule("strict", __doc__)
strict.linalg = _StrictModule("strict.linalg", source=np.linalg)
strict.asarray = _asarray
strict.array = _asarray
strict.asnumpy = _asnumpy
strict.DeviceArray = DeviceArray
strict.ndarray = DeviceArray


def assert_same_results(on_device, on_host, host_results=()):
    """Two runs of the same calls, on ``strict`` and on NumPy, agree bit for bit, and every
    result lives where it should: the keys in ``host_results`` (and mixture-parameter tuples,
    which hold host arrays) on the host, every other array on the device."""
    from mdnlite.backend import to_host

    assert on_device.keys() == on_host.keys()
    for key, host_value in on_host.items():
        value = on_device[key]
        if isinstance(host_value, tuple) and hasattr(host_value, "_fields"):
            assert type(value) is type(host_value), key
            for device_part, host_part in zip(value, host_value):
                assert type(device_part) is np.ndarray, key
                np.testing.assert_array_equal(device_part, host_part, err_msg=key)
            continue
        if key in host_results:
            assert not isinstance(value, DeviceArray) and type(value) is type(host_value), key
            if isinstance(host_value, list):
                assert [type(v) for v in value] == [type(v) for v in host_value], key
        else:
            assert isinstance(value, DeviceArray), f"{key} came back on the host"
            value = to_host(value)
        np.testing.assert_array_equal(value, host_value, err_msg=key)
