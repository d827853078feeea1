"""The package as users get it: metadata, a source distribution that carries its own tests
(and passes them), and a licence that matches the metadata."""

import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(ROOT, "pyproject.toml")),
                                reason="needs the project's source tree")


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_license_matches_the_metadata():
    pyproject = read("pyproject.toml")
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject
    assert "License ::" not in pyproject  # the SPDX expression says it (PEP 639)
    assert read("LICENSE").startswith("MIT License")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation",
                             "--outdir", str(out), ROOT], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # a clean build: no warning from setuptools about the metadata or the manifest
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout
    (archive,) = out.glob("mdnlite-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data") if sys.version_info >= (3, 12) else \
            tar.extractall(out)
    (tree,) = [p for p in out.iterdir() if p.is_dir()]
    return tree


def test_the_sdist_carries_its_tests_and_what_they_read(sdist):
    for path in ("LICENSE", "README.md", "tests/conftest.py", "tests/strict_backend.py",
                 "tests/test_gradients.py", "examples/inverse_sine.py", "docs/tutorial.md",
                 "benchmarks/results/quality.json", "mdnlite/plot/headless.py", "mdnlite/estimators/mdn.py"):
        assert (sdist / path).is_file(), path
    assert not list(sdist.rglob("__pycache__")) and not (sdist / "docs" / "_build").exists()


def test_the_sdist_s_tests_pass(sdist):
    env = dict(os.environ, PYTHONPATH=str(sdist), MPLBACKEND="Agg")
    where = subprocess.run([sys.executable, "-c", "import mdnlite; print(mdnlite.__file__)"],
                           capture_output=True, text=True, env=env, cwd=sdist)
    assert where.stdout.startswith(str(sdist)), where  # the sdist's code, not the repository's
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_readme.py", "tests/test_gradients.py",
                             "tests/test_backend.py", "tests/test_docs.py::test_gallery_images_exist"],
                            capture_output=True, text=True, env=env, cwd=sdist, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
