"""The documentation site builds with Sphinx, warnings as errors and nitpicky, and its API
reference documents every public name of mdnlite.

The build runs on a copy of docs/ (autosummary writes its generated pages into the source
tree), in a fresh interpreter, with this checkout first on the path.
"""

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys

import pytest

import mdnlite

for _package in ("sphinx", "numpydoc", "pydata_sphinx_theme", "myst_parser"):
    pytest.importorskip(_package)

pytestmark = pytest.mark.slow  # one build of the whole site, about 20 s on two cores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = os.path.join("api", "generated")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(the HTML folder, {page path: its HTML}) of a fresh build of the docs."""
    work = tmp_path_factory.mktemp("docs")
    source, html = work / "source", work / "html"
    shutil.copytree(os.path.join(ROOT, "docs"), source,
                    ignore=shutil.ignore_patterns("_build", "generated", "__pycache__"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
               str(source), str(html)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout}\n{run.stderr}"
    pages = {}
    for folder, _, files in os.walk(html):
        for name in files:
            if name.endswith(".html"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    pages[os.path.relpath(path, html)] = f.read()
    return html, pages


def test_key_api_pages(site):
    _, pages = site
    mdn = pages[os.path.join(GENERATED, "mdnlite.MDN.html")]
    assert 'id="mdnlite.MDN"' in mdn and "mdnlite.MDN" in mdn
    for member in ("fit", "predict", "predict_mixture", "sample", "score", "save"):
        assert f'id="mdnlite.MDN.{member}"' in mdn, member
    for parameter in ("n_components", "hidden_sizes", "learning_rate", "random_state"):
        assert parameter in mdn, parameter
    mixture = pages[os.path.join(GENERATED, "mdnlite.mixture.html")]
    assert 'id="mdnlite.mixture.log_prob"' in mixture and "mdnlite.mixture.log_prob" in mixture


def test_pages_maths_and_images(site):
    html, pages = site
    index = pages["index.html"]
    for page in ("tutorial", "gallery", "derivation", "api/index"):
        assert f'href="{page}.html"' in index, page
    # myst's dollarmath: the derivation's $...$ and $$...$$ reach MathJax as maths, not text
    derivation = pages["derivation.html"]
    assert derivation.count('class="math notranslate nohighlight"') > 100
    assert "$$" not in derivation and "mathjax" in derivation.lower()
    images = re.findall(r'<img [^>]*src="([^"]+)"', pages["gallery.html"])
    assert len(images) >= 12
    for image in images:
        assert os.path.getsize(os.path.join(html, image)) > 1000, image


def test_every_public_name_is_documented(site):
    _, pages = site
    ids = set()
    for text in pages.values():
        ids.update(re.findall(r'id="([^"]+)"', text))
    missing = []
    for name in mdnlite.__all__:
        obj = getattr(mdnlite, name)
        if isinstance(obj, type(mdnlite)):
            if f"module-{obj.__name__}" not in ids:
                missing.append(obj.__name__)
        elif f"mdnlite.{name}" not in ids:
            missing.append(f"mdnlite.{name}")
    for info in pkgutil.iter_modules(mdnlite.__path__):
        module = importlib.import_module(f"mdnlite.{info.name}")
        if f"module-{module.__name__}" not in ids:
            missing.append(module.__name__)
            continue
        for name in module.__all__:
            shared = name in mdnlite.__all__ and getattr(mdnlite, name) is getattr(module, name)
            # a name also in mdnlite's namespace is documented once, there
            target = f"mdnlite.{name}" if shared else f"{module.__name__}.{name}"
            if target not in ids:
                missing.append(target)
    assert not missing, ("not in the API reference (add new top-level names and modules to "
                         f"docs/api/index.rst): {missing}")
