"""The documentation site builds with Sphinx, warnings as errors and nitpicky, its API
reference documents every public name of mdnlite, and its sidebar lists the public modules
only (the rule is in the docstring of docs/conf.py).

The build runs on a copy of docs/ (autosummary writes its generated pages into the source
tree), in a fresh interpreter, with this checkout first on the path.
"""

import importlib.util
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

# the public modules that the issue names (the sidebar shows them), and internal ones it must not
REQUIRED_MODULES = ["mdnlite.mixture", "mdnlite.plot", "mdnlite.datasets", "mdnlite.nn",
                    "mdnlite.nn.gradcheck", "mdnlite.heads", "mdnlite.estimators", "mdnlite.io",
                    "mdnlite.backend"]
if os.path.isfile(os.path.join(ROOT, "mdnlite", "exceptions.py")):
    REQUIRED_MODULES.append("mdnlite.exceptions")
INTERNAL_PARTS = ["npzfile", "checks", "special", "_aliases", "meanshift", "cholesky",
                  "univariate", "validation", "layers", "network", "optim", "headless",
                  "mixture_checks", "model", "estimator", "head", "params"]


@pytest.fixture(scope="module")
def public_modules():
    """{name: module} of the public modules, by the rule of docs/conf.py."""
    spec = importlib.util.spec_from_file_location("mdnlite_docs_conf",
                                                  os.path.join(ROOT, "docs", "conf.py"))
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf.PUBLIC


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
    for module in REQUIRED_MODULES:
        page = pages[os.path.join(GENERATED, f"{module}.html")]
        assert f'id="module-{module}"' in page, module
    nn = pages[os.path.join(GENERATED, "mdnlite.nn.html")]
    assert 'href="mdnlite.nn.gradcheck.html"' in nn  # a public submodule: a child page
    assert 'href="mdnlite.Dense.html' in nn  # a name shared with mdnlite: a link to its page


def _sidebar(page):
    """The page names (mdnlite.MDN, mdnlite.nn, ...) the section navigation of a page links to."""
    navs = re.findall(r'<nav class="bd-docs-nav[^"]*".*?</nav>', page, re.S)
    assert len(navs) == 1, "no sidebar (section navigation) found"
    return [os.path.basename(href).split("#")[0].removesuffix(".html")
            for href in re.findall(r'href="([^"#][^"]*)"', navs[0])]  # "#": the page itself


def test_api_sidebar_lists_only_public_modules(site, public_modules):
    _, pages = site
    sidebar = _sidebar(pages[os.path.join("api", "index.html")])
    names = [f"mdnlite.{name}" for name in mdnlite.__all__
             if not isinstance(getattr(mdnlite, name), type(mdnlite))]
    assert sorted(sidebar) == sorted(names + list(public_modules)), sidebar
    assert set(REQUIRED_MODULES) <= set(sidebar)
    for page in sidebar:
        assert not set(page.split(".")) & set(INTERNAL_PARTS), page
    # every module the rule leaves out has no page at all, not merely no sidebar entry
    walked = {info.name for info in pkgutil.walk_packages(mdnlite.__path__, "mdnlite.")}
    assert set(public_modules) <= walked
    for module in walked - set(public_modules):
        assert os.path.join(GENERATED, f"{module}.html") not in pages, module
    # and a module page's sidebar (that of an internal module's parent) lists no internal one
    for module in ("mdnlite.io", "mdnlite.mixture", "mdnlite.nn.gradcheck"):
        for page in _sidebar(pages[os.path.join(GENERATED, f"{module}.html")]):
            assert page in sidebar, (module, page)


def test_pages_maths_and_images(site):
    html, pages = site
    index = pages["index.html"]
    for page in ("tutorial", "gallery", "derivation", "architecture", "api/index"):
        assert f'href="{page}.html"' in index, page
    # myst's dollarmath: the derivation's $...$ and $$...$$ reach MathJax as maths, not text
    derivation = pages["derivation.html"]
    assert derivation.count('class="math notranslate nohighlight"') > 100
    assert "$$" not in derivation and "mathjax" in derivation.lower()
    images = re.findall(r'<img [^>]*src="([^"]+)"', pages["gallery.html"])
    assert len(images) >= 12
    for image in images:
        assert os.path.getsize(os.path.join(html, image)) > 1000, image


def test_every_public_name_is_documented(site, public_modules):
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
    for module in public_modules.values():
        if f"module-{module.__name__}" not in ids:
            missing.append(module.__name__)
            continue
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type(mdnlite)):
                target = f"module-{obj.__name__}"
            elif name in mdnlite.__all__ and getattr(mdnlite, name) is obj:
                target = f"mdnlite.{name}"  # a name also in mdnlite's namespace: documented there
            else:
                target = f"{module.__name__}.{name}"
            if target not in ids:
                missing.append(target)
    assert not missing, ("not in the API reference (add new top-level names to "
                         f"docs/api/index.rst, public modules to docs/conf.py): {missing}")
