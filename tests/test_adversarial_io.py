"""Model files from an adversary: no file may exhaust memory, load garbage or leak numpy advice.

Every crafted file below starts from a real saved model and changes one thing; most are
resealed (their digest recomputed), as an attacker or a buggy writer would, so that the
checks behind the checksum are what is tested. Each must end in a ``ModelFileError`` that
names the field. A memory test loads the worst of them in a subprocess whose address space
is limited, so that a regression fails there instead of swapping this machine. The saving
tests cover what a crash, a kill, a link or a permission does to the file and its folder.
"""

import io as _io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import mdnlite
from mdnlite import MDN, GaussianMixture, ModelFileError, Regressor
from mdnlite import io as mdn_io
from mdnlite.nn.network import mlp, n_parameters
from model_files import read_npz, reseal, with_meta, write_npz


@pytest.fixture
def model_of(small_models, make_data):
    """``model_of(name)`` is the shared small fitted model of that class (conftest.py);
    ``model_of(name, **params)`` one like it with other parameters, fitted on the same data."""
    def get(name, **params):
        model = small_models[name]
        if all(model.get_params()[k] == v for k, v in params.items()):
            return model
        X, y = make_data(80)
        data = (np.hstack([X, y]),) if name == "GaussianMixture" else (X, y)
        return type(model)(**dict(model.get_params(), **params)).fit(*data)
    return get


def craft(tmp_path, model, meta=None, arrays=None, sealed=True, name="crafted.npz"):
    """Save the fitted ``model``, apply ``meta(meta_dict)`` and ``arrays(arrays_dict)``, reseal
    unless told not to, and return the path of the rewritten file."""
    path = tmp_path / name
    model.save(path)
    content = read_npz(path)
    if meta is not None:
        with_meta(content, meta)
    if arrays is not None:
        arrays(content)
    write_npz(path, reseal(content) if sealed else content)
    return path


def refused(path, match):
    with pytest.raises(ModelFileError, match=match) as info:
        mdnlite.load(path)
    assert "allow_pickle" not in str(info.value)
    assert str(path) in str(info.value)
    return info.value


def setter(*keys, value):
    """A change that sets meta[keys[0]][keys[1]]... to ``value``."""
    def change(m):
        for k in keys[:-1]:
            m = m[k]
        m[keys[-1]] = value
    return change


def deleter(*keys):
    def change(m):
        for k in keys[:-1]:
            m = m[k]
        del m[keys[-1]]
    return change


def test_the_control_files_load(tmp_path, small_models, make_data):
    """The crafting itself changes nothing: a resealed unchanged file loads, for each class."""
    X, y = make_data(10, seed=1)
    for cls in (MDN, Regressor, GaussianMixture):
        model = mdnlite.load(craft(tmp_path, small_models[cls.__name__]))
        got = model.score_samples(np.hstack([X, y])) if cls is GaussianMixture \
            else model.score_samples(X, y)
        assert np.isfinite(got).all()


def test_n_parameters_is_the_size_of_mlp():
    for sizes in ([1, 1], [3, 7, 2], [2, 64, 64, 30]):
        net = mlp(sizes, rng=np.random.default_rng(0))
        assert n_parameters(sizes) == net.flat_params.size


# --- memory: sizes come from the metadata and are checked before anything is read --------------

def _bomb(path, real):
    """``real``'s members, with 'params' replaced by 512 MiB of deflated zeros (2.3 MB)."""
    content = read_npz(real)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in content.items():
            if name == "params":
                with zf.open("params.npy", "w", force_zip64=True) as f:
                    header = _io.BytesIO()
                    np.lib.format.write_array_header_1_0(
                        header, {"descr": "<f4", "fortran_order": False, "shape": (2**27,)})
                    f.write(header.getvalue())
                    zeros = bytes(1 << 24)
                    for _ in range(32):
                        f.write(zeros)
            else:
                buffer = _io.BytesIO()
                np.save(buffer, a)
                zf.writestr(f"{name}.npy", buffer.getvalue())


def _deep_json(path, real):
    content = read_npz(real)
    content["meta"] = np.array("[" * 200_000 + "]" * 200_000)
    write_npz(path, reseal(content))


def _huge_network(path, real):
    content = read_npz(real)
    meta = json.loads(str(content["meta"]))
    meta["params"]["n_components"] = 20_000_000
    content["meta"] = np.array(json.dumps(meta))
    write_npz(path, reseal(content))


@pytest.fixture(scope="module")
def bombs(tmp_path_factory, small_models):
    """A folder with a saved MDN (real.npz) and three files crafted from it, made once: a zip
    bomb, JSON nested 200,000 deep, and metadata that asks for a network of 360 million
    parameters. The tests only read them."""
    folder = tmp_path_factory.mktemp("bombs")
    real = folder / "real.npz"
    small_models["MDN"].save(real)
    _bomb(folder / "bomb.npz", real)
    _deep_json(folder / "deep.npz", real)
    _huge_network(folder / "huge.npz", real)
    return folder


def test_bomb_files_are_refused_before_anything_is_inflated(bombs):
    assert os.path.getsize(bombs / "bomb.npz") < 4e6
    refused(bombs / "bomb.npz", "member 'params' is compressed")
    refused(bombs / "deep.npz", "not valid JSON: nested too deeply")
    refused(bombs / "huge.npz", r"invalid array 'params': expected float32 of shape "
                                r"\(360000015,\)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_load_stays_within_a_memory_limit_on_bomb_files(bombs):
    """In a child whose address space is capped at 256 MiB above what it uses after import,
    each crafted file is refused with a ModelFileError (no MemoryError), and a real model
    still loads (the cap leaves room for honest work)."""
    real = bombs / "real.npz"
    child = textwrap.dedent(f"""
        import resource, sys
        import mdnlite
        status = open("/proc/self/status").read()
        used = int(status.split("VmSize:")[1].split()[0]) * 1024
        limit = used + 256 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for name in ("bomb", "deep", "huge"):
            path = {str(bombs)!r} + "/" + name + ".npz"
            try:
                mdnlite.load(path)
            except mdnlite.ModelFileError as exc:
                print(name, str(exc).replace(repr(path), "")[:80])
            except BaseException as exc:
                print(name, type(exc).__name__)
        mdnlite.load({str(real)!r})
        print("real loaded")
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env=env, timeout=120)
    lines = done.stdout.split("\n")
    assert len(lines) > 4, done.stdout + done.stderr
    assert "member 'params' is compressed" in lines[0], lines
    assert "nested too deeply" in lines[1], lines
    assert "invalid array 'params'" in lines[2], lines
    assert lines[3] == "real loaded", lines


def _zip_with(path, members):
    """A stored zip of raw member bytes {name: bytes}."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _npy(array, header=None):
    buffer = _io.BytesIO()
    if header is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array_header_1_0(buffer, header)
        buffer.write(np.ascontiguousarray(array).tobytes())
    return buffer.getvalue()


@pytest.fixture
def members(tmp_path, model_of):
    """The raw members {name.npy: bytes} of a saved MDN."""
    real = tmp_path / "real.npz"
    model_of("MDN").save(real)
    return {f"{k}.npy": _npy(v) for k, v in read_npz(real).items()}


def test_headers_that_lie_about_the_size(tmp_path, members):
    n = np.load(_io.BytesIO(members["params.npy"])).size
    path = tmp_path / "lie.npz"
    for shape in ((10**12,), (n + 1,), (n - 1,)):  # the declared shape: not what is stored
        members["params.npy"] = _npy(np.zeros(n, np.float32),
                                     {"descr": "<f4", "fortran_order": False, "shape": shape})
        _zip_with(path, members)
        refused(path, "member 'params' holds .* bytes of data, but its header declares")


def test_a_header_too_long_or_not_npy(tmp_path, members):
    path = tmp_path / "h.npz"
    # a version-2 header of 1 MB: refused unread beyond its length field
    long = b"\x93NUMPY\x02\x00" + (2**20).to_bytes(4, "little") + b" " * 2**20
    _zip_with(path, dict(members, **{"params.npy": long}))
    refused(path, "member 'params' has no readable .npy header")
    _zip_with(path, dict(members, **{"params.npy": b"not an array at all"}))
    refused(path, "member 'params' has no readable .npy header")
    _zip_with(path, dict(members, **{"readme.txt": b"hello"}))
    refused(path, "member 'readme.txt' is not a .npy array")


def test_too_many_or_duplicated_members(tmp_path, members):
    path = tmp_path / "m.npz"
    _zip_with(path, dict(members, **{f"x{i}.npy": _npy(np.zeros(1)) for i in range(100)}))
    refused(path, "members, more than the 64 expected")
    with zipfile.ZipFile(path, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("params.npy", members["params.npy"])
    refused(path, "member 'params.npy' is not a .npy array or appears twice")


def test_object_and_fortran_members(tmp_path, members):
    path = tmp_path / "o.npz"
    _zip_with(path, dict(members, **{"params.npy": _npy(
        np.zeros(3), {"descr": "|O", "fortran_order": False, "shape": (3,)})}))
    refused(path, "member 'params' holds object")
    _zip_with(path, dict(members, **{"meta.npy": _npy(
        np.zeros(1), {"descr": "|O", "fortran_order": False, "shape": ()})}))
    refused(path, "member 'meta' holds object")
    _zip_with(path, dict(members, **{"params.npy": _npy(
        np.zeros((2, 2), np.float32), {"descr": "<f4", "fortran_order": True, "shape": (2, 2)})}))
    refused(path, "member 'params' is stored in Fortran order")


def test_unexpected_and_missing_arrays(tmp_path, model_of):
    path = craft(tmp_path, model_of("MDN"), arrays=lambda a: a.update(extra=np.zeros(3)))
    refused(path, r"does not hold the arrays of its MDN \(missing \[\], unexpected \['extra'\]\)")
    path = craft(tmp_path, model_of("MDN"), arrays=lambda a: a.pop("optimizer.m.0"))
    refused(path, r"missing \['optimizer.m.0'\], unexpected \[\]")


def test_huge_integers_and_non_objects_in_the_json(tmp_path, model_of):
    real = tmp_path / "real.npz"
    model_of("MDN").save(real)
    for text in ("9" * 100_000, "[1, 2]", '"text"', '{"format": "mdnlite-model"'):
        content = read_npz(real)
        content["meta"] = np.array(text)
        write_npz(tmp_path / "j.npz", reseal(content))
        refused(tmp_path / "j.npz", "is not an mdnlite model file")


# --- the arrays: dtype, shape and values ---------------------------------------------------------

@pytest.mark.parametrize("dtype", ["complex64", "int32", "bool", "float64", "<U3", "float16"])
def test_params_of_the_wrong_dtype(tmp_path, dtype, model_of):
    def change(a):
        a["params"] = np.zeros(a["params"].shape, dtype=dtype)
    refused(craft(tmp_path, model_of("MDN"), arrays=change),
            r"invalid array 'params': expected float32 of shape \(\d+,\), got")


@pytest.mark.parametrize("key, value, match", [
    ("params", np.nan, "non-finite values in 'params'"),
    ("params", np.inf, "non-finite values in 'params'"),
    ("optimizer.m.0", -np.inf, "non-finite values in 'optimizer.m.0'"),
    ("optimizer.v.0", -1.0, "values < 0 in 'optimizer.v.0'"),
    ("standardizer.x_scale", 0.0, "values <= 0 in 'standardizer.x_scale'"),
    ("standardizer.y_scale", -2.0, "values <= 0 in 'standardizer.y_scale'"),
    ("standardizer.y_mean", np.nan, "non-finite values in 'standardizer.y_mean'"),
])
def test_bad_values_in_the_arrays(tmp_path, key, value, match, model_of):
    def change(a):
        a[key] = a[key].copy()
        a[key].flat[0] = value
    refused(craft(tmp_path, model_of("MDN"), arrays=change), match)


def test_a_shape_that_is_not_the_models(tmp_path, model_of):
    def change(a):
        a["standardizer.x_mean"] = np.zeros(3)
    refused(craft(tmp_path, model_of("MDN"), arrays=change),
            r"invalid array 'standardizer.x_mean': expected float64 of shape \(2,\)")


def test_rmsprop_state_and_regressor_noise(tmp_path, model_of):
    def negative(key):
        def change(a):
            a[key] = -np.abs(a[key]) - 1
        return change
    refused(craft(tmp_path, model_of("MDN", optimizer="rmsprop"),
                  arrays=negative("optimizer.mean_square.0")),
            "values < 0 in 'optimizer.mean_square.0'")
    refused(craft(tmp_path, model_of("Regressor"), arrays=negative("noise_variance")),
            "values < 0 in 'noise_variance'")


# --- the hyperparameters and the JSON state -------------------------------------------------------

@pytest.mark.parametrize("change, match", [
    (setter("params", "learning_rate", value=-5), "invalid params: learning_rate must be"),
    (setter("params", "learning_rate", value="fast"), "invalid params: learning_rate must be"),
    (setter("params", "batch_size", value=0), "invalid params: batch_size"),
    (setter("params", "activation", value="cosh"), "invalid params: .*activation"),
    (setter("params", "hidden_sizes", value=[10**9]), "invalid array 'params'"),
    (setter("params", "hidden_sizes", value=[{"a": 1}]), "invalid params.hidden_sizes"),
    (setter("params", "n_components", value=True), "invalid params: n_components"),
    (setter("params", "n_components", value={"k": 3}), "invalid params.n_components"),
    (setter("params", "warm_start", value="yes"), "invalid params: warm_start"),
    (setter("params", "surprise", value=1), r"unexpected \['surprise'\]"),
    (deleter("params", "min_scale"), r"missing \['min_scale'\]"),
    (setter("params", value=[1, 2]), "invalid params: expected a JSON object"),
    (setter("state", value=None), "invalid state: expected a JSON object"),
    (setter("class", value=["MDN"]), "unknown estimator"),
    (setter("state", "dtype", value="float16"), "invalid state.dtype"),
    (setter("state", "n_features_in", value=True), "invalid state.n_features_in"),
    (setter("state", "n_features_in", value=0), "invalid state.n_features_in"),
    (setter("state", "n_features_in", value=3), "invalid array"),
    (setter("state", "n_targets", value=2.0), "invalid state.n_targets"),
    (setter("state", "target_ndim", value=3), "invalid state.target_ndim"),
    (setter("state", "feature_names_in", value=["a"]), "invalid state.feature_names_in"),
    (setter("state", "feature_names_in", value=[1, 2]), "invalid state.feature_names_in"),
    (setter("state", "n_epochs", value=-1), "invalid state.n_epochs"),
    (setter("state", "n_epochs", value=5), "invalid state.loss_curve"),
    (setter("state", "loss_curve", value=["x", 1.0]), "invalid state.loss_curve"),
    (setter("state", "loss_curve", value=[float("nan"), 1.0]), "invalid state.loss_curve"),
    (setter("state", "learning_rate_curve", value=[1.0]), "invalid state.learning_rate_curve"),
    (setter("state", "validation_loss_curve", value=[1.0] * 3),
     "invalid state.validation_loss_curve"),
    (setter("state", "rng", value={"bit_generator": "MT19937"}), "invalid state.rng"),
    (setter("state", "rng", value="seed"), "invalid state.rng"),
    (setter("state", "optimizer", "learning_rate", value=-5), "invalid state.optimizer.learn"),
    (setter("state", "optimizer", "learning_rate", value=float("nan")), "invalid state.optim"),
    (setter("state", "optimizer", "iterations", value=-1), "invalid state.optimizer.iterations"),
    (setter("state", "optimizer", "state_names", value=["m"]), "invalid state.optimizer.state"),
    (deleter("state", "optimizer"), "lacks state.optimizer"),
    (deleter("state", "rng"), "lacks state.rng"),
])
def test_bad_metadata(tmp_path, change, match, model_of):
    refused(craft(tmp_path, model_of("MDN"), meta=change), match)


def test_a_refused_learning_rate_never_trains(tmp_path, model_of):
    """The case that once loaded silently and then ran gradient ascent."""
    path = craft(tmp_path, model_of("MDN"),
                 meta=setter("state", "optimizer", "learning_rate", value=-5.0))
    refused(path, r"state.optimizer.learning_rate: expected a finite number > 0, got -5.0")


# --- Gaussian mixtures ------------------------------------------------------------------------------

def _set(key, index, value):
    def change(a):
        a[key] = a[key].copy()
        a[key][index] = value
    return change


@pytest.mark.parametrize("change, match, covariance", [
    (_set("weights", 0, 2.0), "weights that sum to", "full"),
    (_set("weights", (slice(None),), 1 / 3 + 1e-6), "weights that sum to", "full"),
    (lambda a: a.update(weights=np.array([a["weights"][:2].sum() + 0.5, -0.5, a["weights"][2]])),
     "values < 0 in 'weights'", "full"),
    (_set("means", (0, 0), np.nan), "non-finite values in 'means'", "full"),
    (_set("cholesky_factors", (0, 0, 0), -1.0), "positive diagonal", "full"),
    (_set("cholesky_factors", (0, 0, 1), 0.5), "not full Cholesky factors", "full"),
    (_set("cholesky_factors", (0, 1, 0), 0.5), "not diagonal Cholesky factors", "diagonal"),
    (_set("covariances", (0, 0, 0), 7.0), "'covariances' that are not L Lᵀ", "full"),
    (_set("covariances", (1, 0, 1), 0.01), "'covariances' that are not L Lᵀ", "diagonal"),
])
def test_bad_gaussian_mixtures(tmp_path, change, match, covariance, model_of):
    refused(craft(tmp_path, model_of("GaussianMixture", covariance=covariance), arrays=change),
            match)


@pytest.mark.parametrize("change, match", [
    (setter("params", "n_components", value=4), "invalid array 'weights'"),
    (setter("params", "reg_covar", value=-1), "invalid params: reg_covar"),
    (setter("state", "n_iter", value=10**6), "invalid state.log_likelihood_curve"),
    (setter("state", "lower_bound", value=0.5), "state.lower_bound that is not the last"),
    (setter("state", "covariance", value="spherical"), "invalid state.covariance"),
    (setter("state", "converged", value=1), "invalid state.converged"),
    (deleter("state", "n_features_in"), "lacks state.n_features_in"),
])
def test_bad_gaussian_mixture_metadata(tmp_path, change, match, model_of):
    refused(craft(tmp_path, model_of("GaussianMixture"), meta=change), match)


# --- saving ------------------------------------------------------------------------------------------

def _temporaries(folder):
    return [n for n in os.listdir(folder) if n.endswith(".mdnlite-tmp") or n.endswith(".tmp")]


@pytest.mark.skipif(os.name != "posix", reason="kills a process with SIGKILL")
def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path, model_of):
    path = tmp_path / "model.npz"
    model_of("MDN").save(path)
    before = path.read_bytes()
    child = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from mdnlite import MDN
        from mdnlite import io as mdn_io
        def savez_then_die(file, **arrays):
            file.write(b"PK half a zip")
            file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        X = np.random.default_rng(0).normal(size=(40, 2))
        model = MDN(2, hidden_sizes=(3,), max_epochs=1, verbose=0).fit(X, X[:, :1])
        mdn_io.np.savez = savez_then_die
        model.save({str(path)!r})
    """)
    left = []
    for _ in range(3):  # each save removes what the last killed one left, and leaves its own
        done = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert len(_temporaries(tmp_path)) == 1 and _temporaries(tmp_path) != left
        left = _temporaries(tmp_path)
        assert path.read_bytes() == before  # and the old file is whole
    model_of("MDN").save(path)
    assert _temporaries(tmp_path) == []
    mdnlite.load(path)


def test_a_save_does_not_remove_the_temporary_of_a_save_in_progress(tmp_path, model_of):
    path = tmp_path / "model.npz"
    # the temporary file of a live process (this test's parent) and one of another target
    live = tmp_path / f".model.npz.{os.getppid()}.abcd.mdnlite-tmp"
    other = tmp_path / ".other.npz.999999999.abcd.mdnlite-tmp"
    live.write_bytes(b"in progress")
    other.write_bytes(b"not ours")
    model_of("MDN").save(path)
    assert live.exists() and other.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444])
def test_a_replaced_file_keeps_its_mode(tmp_path, mode, model_of):
    path = tmp_path / "model.npz"
    model_of("MDN").save(path)
    os.chmod(path, mode)
    model_of("MDN").save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    mdnlite.load(path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_new_file_gets_the_umask_mode(tmp_path, model_of):
    old = os.umask(0o027)
    try:
        model_of("MDN").save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_saving_to_a_symlink_writes_the_file_it_points_to(tmp_path, model_of):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "v1.npz"
    link = tmp_path / "current.npz"
    model_of("MDN").save(target)
    link.symlink_to(target)
    model = model_of("MDN", hidden_sizes=(4,))
    assert model.save(link) == str(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert mdnlite.load(target).hidden_sizes == (4,)
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "models" / "v2.npz")
    model.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "models" / "v2.npz").is_file()
    assert _temporaries(tmp_path) == _temporaries(tmp_path / "models") == []


@pytest.mark.skipif(os.name != "posix", reason="syncs a folder")
def test_save_syncs_the_file_and_its_folder(tmp_path, monkeypatch, model_of):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(mdn_io.os, "fsync", fsync)
    model_of("MDN").save(tmp_path / "m.npz")
    assert synced == [False, True]  # the file's data, then the rename in the folder


def test_errors_name_the_target_not_the_temporary(tmp_path, model_of):
    model = model_of("MDN")
    missing = tmp_path / "no" / "such" / "folder" / "m.npz"
    with pytest.raises(FileNotFoundError) as info:
        model.save(missing)
    assert str(missing) in str(info.value) and "mdnlite-tmp" not in str(info.value)
    folder = tmp_path / "a_folder.npz"
    folder.mkdir()
    with pytest.raises(OSError) as info:
        model.save(folder)
    assert str(folder) in str(info.value) and "mdnlite-tmp" not in str(info.value)
    assert _temporaries(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permission bits (root ignores them)")
def test_a_read_only_folder(tmp_path, model_of):
    os.chmod(tmp_path, 0o500)
    try:
        with pytest.raises(PermissionError, match="m.npz"):
            model_of("MDN").save(tmp_path / "m.npz")
    finally:
        os.chmod(tmp_path, 0o700)


def test_a_directory_or_unreadable_path_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="cannot be opened"):
        mdnlite.load(tmp_path)
