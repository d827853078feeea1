"""Saving and loading fitted estimators: one ``.npz`` file, written atomically, read safely.

The file holds the configuration and learned state as JSON, the weights and optimizer state
as arrays, a format version and a SHA-256 digest of everything else. It is read with
``allow_pickle=False``; a truncated, modified or wrong-version file gets a clear error.
Any estimator with ``get_params``, ``_check_fitted``, ``_get_state`` and ``_set_state`` can be
saved; ``load`` rebuilds the classes that ``register`` knows (every NetworkEstimator subclass
registers itself).
"""

import hashlib
import json
import os
import tempfile

import numpy as np

from .backend import to_host

__all__ = ["FORMAT_VERSION", "save", "load", "register", "ModelFileError"]

FORMAT = "mdnlite-model"
FORMAT_VERSION = 1


_REGISTRY = {}  # class name -> class: every estimator that load can rebuild


class ModelFileError(ValueError):
    """A model file cannot be used: unreadable, truncated, modified or of another version."""


def register(cls):
    """Class decorator: let ``load`` rebuild the estimators of ``cls``, saved under its name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _digest(meta_json, arrays):
    h = hashlib.sha256(meta_json.encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _jsonable(value):
    """Constructor arguments as JSON: tuples become lists, anything else must be plain."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.dtype) or isinstance(value, type):
        return np.dtype(value).name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return None  # a Generator as random_state, a module as backend: not stored


def save(model, path):
    """Write a fitted estimator to ``path`` (exactly that name) and return the path.

    The file is written to a temporary name in the same folder and renamed over ``path``
    only when complete, so a crash mid-save never leaves a broken file under that name.
    """
    model._check_fitted()
    state = model._get_state()
    arrays = {name: np.asarray(to_host(a)) for name, a in state.pop("arrays").items()}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "params": {k: _jsonable(v) for k, v in model._saved_params().items()},
        "state": state,
    }
    meta_json = json.dumps(meta)
    arrays["meta"] = np.array(meta_json)
    arrays["digest"] = np.array(_digest(meta_json, {k: v for k, v in arrays.items()
                                                    if k not in ("meta", "digest")}))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mdnlite-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; a file np.save
        os.replace(tmp, path)             # would write is readable as the umask allows
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path, backend=None):
    """Read an estimator written by ``save``.

    Parameters
    ----------
    path : str or path-like
    backend : {"numpy", "cupy", "auto"}, optional
        Where to put the loaded model; by default the backend it was saved with.

    Raises
    ------
    ModelFileError
        The file is missing, unreadable, truncated, modified since it was written, or of
        another format version.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {path!r}") from None
    except Exception as exc:  # zipfile, zlib and numpy each raise their own kinds
        raise ModelFileError(f"{path!r} is not a readable mdnlite model file: {exc}") from None
    try:
        meta_json = str(arrays.pop("meta"))
        digest = str(arrays.pop("digest"))
        meta = json.loads(meta_json)
        fmt, version = meta["format"], meta["format_version"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path!r} is not an mdnlite model file ({exc!r})") from None
    if fmt != FORMAT:
        raise ModelFileError(f"{path!r} is not an mdnlite model file (format {fmt!r})")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path!r} has format version {version}; this mdnlite reads "
                             f"version {FORMAT_VERSION}")
    if _digest(meta_json, arrays) != digest:
        raise ModelFileError(f"{path!r} was modified or corrupted after it was written "
                             "(its checksum does not match)")
    cls = _REGISTRY.get(meta["class"])
    if cls is None:
        raise ModelFileError(f"{path!r} holds an unknown estimator {meta['class']!r}")
    # JSON has no tuples: sequences (hidden_sizes) were tuples when saved
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["params"].items()}
    if backend is not None or params.get("backend") is None:
        params["backend"] = backend or "numpy"
    model = cls(**params)
    model._set_state(meta["state"], arrays)
    return model
