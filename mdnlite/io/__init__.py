"""Saving and loading fitted estimators: one ``.npz`` file, written atomically, read safely.

The file holds the configuration and learned state as JSON, the weights and optimizer state
as arrays, a format version and a SHA-256 digest of everything else.

Loading treats the file as untrusted. Nothing is unpickled, and memory stays bounded by the
file's size: the JSON is read first and every value in it checked, the exact dtype and
shape of every array follow from it and are compared with each member's header (see
``npzfile``) before any data is read, and the data are then read once, into their final
arrays, while the digest is computed. Every value is then checked (finite, positive where
it must be, consistent with the rest) before the estimator is rebuilt. Whatever is wrong
becomes a ``ModelFileError`` that names the file and the field.

Saving writes to a temporary file beside the target (named after it and this process),
flushed and synced to disk, then renamed over the target and the folder synced: a crash or
power cut leaves the old file or the new one, never a mix. A replaced file keeps its
permissions; a save to a symbolic link writes the file the link points to (as ``open``
would), and leaves the link. A temporary file left by a killed process is removed by the
next save to the same name.

Any estimator with ``get_params``, ``_check_fitted``, ``_get_state``, ``_expected_arrays``
and ``_set_state`` can be saved; ``load`` rebuilds the classes that ``register`` knows
(every NetworkEstimator subclass registers itself).
"""

import errno
import hashlib
import json
import os
import secrets
import stat

import numpy as np

from ..backend import to_host
from ..exceptions import ModelFileError
from .fields import Fields, check_values, short
from .npzfile import NpzError, NpzReader

__all__ = ["FORMAT_VERSION", "save", "load", "register", "ModelFileError", "Fields",
           "check_values"]

FORMAT = "mdnlite-model"
FORMAT_VERSION = 1
_TEMPORARY = ".mdnlite-tmp"  # suffix of the temporary file of a save in progress
_MAX_DIGITS = 64  # longest integer in a model's JSON (a generator state has 39 digits)


_REGISTRY = {}  # class name -> class: every estimator that load can rebuild


def register(cls):
    """Class decorator: let ``load`` rebuild the estimators of ``cls``, saved under its name."""
    _REGISTRY[cls.__name__] = cls
    return cls


# --- saving -----------------------------------------------------------------------------------

def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _digest_update(h, name, array):
    """Feed one array's name, dtype and shape to the hash ``h``; its bytes follow."""
    h.update(f"{name}|{array.dtype.str}|{array.shape}".encode())


def _digest(meta_json, arrays):
    h = hashlib.sha256(meta_json.encode("utf-8"))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        _digest_update(h, name, a)
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

    The file is written to a temporary name in the same folder, synced to disk and renamed
    over ``path`` only when complete, so a crash mid-save never leaves a broken file under
    that name. A file replaced keeps its permission bits; if ``path`` is a symbolic link,
    the file it points to is written.

    Raises
    ------
    FileNotFoundError
        The folder of ``path`` does not exist (the error names ``path``).
    OSError
        The file cannot be written (the error names ``path``); an existing file is left as
        it was.
    """
    model._check_fitted()
    state = model._get_state()
    arrays = {name: np.ascontiguousarray(to_host(a)) for name, a in state.pop("arrays").items()}
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
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "cannot save a model: a file name is needed, "
                                "not a folder", path)
    try:
        target = os.path.realpath(path, strict=False)  # through any link, to the file itself
        if os.path.islink(path):
            os.stat(path)  # a dangling link is fine (saved as its target); a loop is not
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OSError(exc.errno, f"cannot save a model: {exc.strerror} (a symbolic link "
                      f"that points to itself?)", path) from None
    folder, base = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "cannot save a model: no such folder", path)
    _remove_stale_temporaries(folder, base)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()  # as open() would create it
    tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(4)}{_TEMPORARY}")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o600)
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:  # named after the target, not the temporary file
        raise type(exc)(exc.errno, f"cannot save a model ({exc.strerror or exc})", path) from exc
    _sync_folder(folder)
    return path


def _sync_folder(folder):
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be synced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temporaries(folder, base):
    """Delete the temporary files of earlier saves to ``base`` whose process has ended
    (POSIX), or that are over a day old (elsewhere, where a process cannot be probed)."""
    prefix = f".{base}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(_TEMPORARY)]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):-len(_TEMPORARY)].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not _ended(int(pid), folder, name):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _ended(pid, folder, name):
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # alive, but another user's
            return False
        return False
    try:  # os.kill(pid, 0) would stop the process on Windows
        import time
        return time.time() - os.stat(os.path.join(folder, name)).st_mtime > 86400
    except OSError:
        return False


# --- loading ----------------------------------------------------------------------------------

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
        The file is missing or unreadable, truncated, modified since it was written, of
        another format version, or holds a value no saved model can have: the message names
        the file and the field. Memory use stays within a small multiple of the file's size
        whatever the file holds.
    """
    path = os.fspath(path)
    if isinstance(backend, str) and backend not in ("numpy", "cupy", "auto"):
        raise ValueError(f"backend must be 'numpy', 'cupy', 'auto' or None, got {backend!r}")
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(f"no model file at {path!r}") from None
    except OSError as exc:
        raise ModelFileError(f"{path!r} cannot be opened ({exc.strerror or exc})") from None
    with fh:
        try:
            return _read(NpzReader(fh), backend)
        except NpzError as exc:
            raise ModelFileError(f"{path!r} is not a readable mdnlite model file: {exc}") from None
        except ModelFileError as exc:
            raise ModelFileError(f"{path!r} {exc}") from None


def _read(reader, backend):
    """The estimator in an open file; ModelFileErrors say what is wrong after the path."""
    names = set(reader.names)
    if not {"meta", "digest"} <= names:
        raise ModelFileError("is not an mdnlite model file (it has no 'meta' or no 'digest')")
    meta_json, digest = (_read_text(reader, name) for name in ("meta", "digest"))
    meta = _parse(meta_json)
    fmt, version = meta.get("format"), meta.get("format_version")
    if fmt != FORMAT:
        raise ModelFileError(f"is not an mdnlite model file (format {short(fmt)})")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"has format version {short(version)}; this mdnlite reads "
                             f"version {FORMAT_VERSION}")
    cls = _REGISTRY.get(meta.get("class")) if isinstance(meta.get("class"), str) else None
    if cls is None:
        raise ModelFileError(f"holds an unknown estimator {short(meta.get('class'))}")
    model = _construct(cls, Fields(meta.get("params"), "params"), backend)
    state = Fields(meta.get("state"), "state")
    expected = model._expected_arrays(state)
    if names - {"meta", "digest"} != set(expected):
        extra = sorted(names - {"meta", "digest"} - set(expected))
        missing = sorted(set(expected) - names)
        raise ModelFileError(f"does not hold the arrays of its {meta['class']} "
                             f"(missing {missing}, unexpected {extra})")
    for name, (shape, dtype) in expected.items():  # every check before any data is read
        header = reader.header(name)
        want = np.dtype(dtype)
        if (header.dtype.kind, header.dtype.itemsize, header.shape) != (want.kind,
                                                                         want.itemsize, shape):
            raise ModelFileError(f"has an invalid array {name!r}: expected {want.name} of shape "
                                 f"{shape}, got {header.dtype.name} of shape {header.shape}")
    h = hashlib.sha256(meta_json.encode("utf-8"))
    arrays = {}
    for name in sorted(expected):
        _digest_update(h, name, reader.header(name))
        arrays[name] = reader.read(name, hasher=h)
    if h.hexdigest() != digest:
        raise ModelFileError("was modified or corrupted after it was written (its checksum "
                             "does not match)")
    for name, (_, dtype) in expected.items():
        if not arrays[name].dtype.isnative:  # written on a machine of the other byte order
            arrays[name] = arrays[name].astype(dtype)
    model._set_state(meta["state"], arrays)
    return model


def _read_text(reader, name):
    header = reader.header(name)
    if header.dtype.kind != "U" or header.shape != ():
        raise ModelFileError(f"is not an mdnlite model file ({name!r} is not text)")
    return str(reader.read(name)[()])


def _parse(meta_json):
    def parse_int(text):
        if len(text.lstrip("-")) > _MAX_DIGITS:
            raise ValueError(f"an integer of {len(text)} digits")
        return int(text)

    try:
        meta = json.loads(meta_json, parse_int=parse_int)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise ModelFileError(f"is not an mdnlite model file (its metadata is not valid "
                             f"JSON: {reason})") from None
    if not isinstance(meta, dict):
        raise ModelFileError("is not an mdnlite model file (its metadata is not a JSON object)")
    return meta


def _construct(cls, params, backend):
    """An unfitted ``cls`` from the saved hyperparameters, each checked by the class."""
    names = set(cls().get_params())
    if isinstance(params.value, dict):  # a file from before a parameter existed implies it
        added = getattr(cls, "_PARAMS_ADDED", {})
        params = Fields({**{k: v for k, v in added.items() if k in names}, **params.value},
                        "params")
    if set(params.value) != names:
        raise ModelFileError(f"has params that do not fit {cls.__name__} (missing "
                             f"{sorted(names - set(params.value))}, unexpected "
                             f"{sorted(set(params.value) - names)})")
    values = {}
    for name, value in params.value.items():
        if isinstance(value, dict) or (isinstance(value, list) and not all(
                v is None or isinstance(v, (bool, int, float, str)) for v in value)):
            raise ModelFileError(f"has an invalid params.{name}: {short(value)}")
        values[name] = tuple(value) if isinstance(value, list) else value  # tuples when saved
    if backend is not None or values.get("backend") is None:
        values["backend"] = backend or "numpy"
    model = cls(**values)
    try:
        model._check_params()
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelFileError(f"has invalid params: {exc}") from None
    return model


# --- checked access for ``_expected_arrays`` and ``_set_state`` --------------------------------
