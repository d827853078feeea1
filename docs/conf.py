"""Sphinx configuration: the mdnlite site (the pages in docs/ and the API reference).

Build it with ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``.

Which modules are public, and so have a page (and a place in the sidebar):

- ``mdnlite`` itself: every name in ``mdnlite.__all__`` has a page of its own (the page of
  the module, for a module), grouped by ``api/index.rst``;
- the modules directly under mdnlite that ``PUBLIC_MODULES`` names and that exist (found in
  the package, so that one added later, such as ``exceptions``, appears by itself);
- below those, every module that the ``__all__`` of a public module names (``mdnlite.nn``
  names ``gradcheck``): its page is a child of that module's page.

Every other module is internal and has no page: the underscore-prefixed ones, ``validation``,
and the submodules of a subpackage (``mixture/checks.py``, ``io/npzfile.py``, ...), whose
public names the subpackage re-exports in its ``__all__``. A public module's page documents
its ``__all__``: the names it shares with ``mdnlite`` link to their pages, the rest are
documented there. The table of the modules in ``api/index.rst`` is the ``public-modules``
directive below, and their pages are written into ``api/generated`` (autosummary's folder,
emptied at the start of every build so that the pages of modules no longer public go).
"""

import importlib
import inspect
import os
import pkgutil
import posixpath
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, "mdnlite")):  # a checkout: document its source
    sys.path.insert(0, ROOT)

from docutils.statemachine import StringList  # noqa: E402
from sphinx.ext.autosummary import Autosummary  # noqa: E402
from sphinx.ext.autosummary.generate import generate_autosummary_docs  # noqa: E402

import mdnlite  # noqa: E402

project = "mdnlite"
author = "the mdnlite developers"
copyright = "the mdnlite developers"
release = version = mdnlite.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates"]
templates_path = ["_templates"]

# myst: the derivation's $...$ and $$...$$ maths, and its aligned environments
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# autodoc and autosummary: pages generated at build time, members in source order
autosummary_generate = True
autodoc_member_order = "bysource"

# numpydoc: the class pages list their members through autodoc (class.rst), not numpydoc's
# tables, whose entries would need a page each; type strings stay text (shapes such as
# "array (N, K, D)" and choices such as {"exp", "softplus"} are not cross-reference targets)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"mdnlite {release}"
html_theme_options = {"show_toc_level": 2}
html_show_sourcelink = False


def _directive(obj):
    """The autodoc directive for a public object, with its options."""
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "autoexception", []
        return "autoclass", [":members:", ":undoc-members:", ":inherited-members: tuple"]
    if callable(obj):
        return "autofunction", []
    # a value whose repr is no literal (a dict of classes) would only show memory addresses
    return "autodata", [":no-value:"] if "<" in repr(obj) else []


# the public modules directly under mdnlite (those that exist), in the order of the API index
PUBLIC_MODULES = ("mixture", "plot", "datasets", "nn", "heads", "estimators", "io", "backend",
                  "exceptions", "config")
GENERATED = "api/generated"  # autosummary's pages, a folder git ignores


def _public_modules():
    """{name of a public module: the module}, by the rule of this file's docstring: each
    top-level module before its children."""
    found = {info.name for info in pkgutil.iter_modules(mdnlite.__path__)}
    todo = [importlib.import_module(f"mdnlite.{name}") for name in PUBLIC_MODULES
            if name in found]
    public = {}
    while todo:
        module = todo.pop(0)
        if module.__name__ not in public:
            public[module.__name__] = module
            todo[:0] = [obj for obj in map(module.__dict__.get, module.__all__)
                        if inspect.ismodule(obj)]
    return public


def _api(public):
    """For each public module: the public modules its ``__all__`` names, the names it shares
    with the top level (``mdnlite.X``), and the others, each with the autodoc directive that
    documents it."""
    top = {name: getattr(mdnlite, name) for name in mdnlite.__all__}
    api = {}
    for module in public.values():
        entry = api[module.__name__] = {"modules": [], "toplevel": [], "here": []}
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj):  # named from here: autosummary wants no module cycle
                entry["modules"].append(obj.__name__.removeprefix(module.__name__ + "."))
            elif name in top and top[name] is obj:
                entry["toplevel"].append(name)
            else:
                entry["here"].append((name, *_directive(obj)))
    return api


PUBLIC = _public_modules()
TOP_MODULES = [name for name in PUBLIC if name.count(".") == 1]  # the table of api/index.rst


autosummary_context = {"api": _api(PUBLIC)}


_INLINE_LITERAL = re.compile(r"(``.+?``)")


def _plain_text_bars(app, what, name, obj, options, lines):
    """Docstrings write their maths in plain text (shared/STYLE.md), |x| included. mdnlite
    defines no reStructuredText substitutions, so a bar is always text: escape it, except in
    inline literals, literal blocks and doctests, which show it as it is."""
    literal_indent, doctest = None, False
    for i, line in enumerate(lines):
        text, indent = line.strip(), len(line) - len(line.lstrip())
        doctest = text.startswith(">>>") or (doctest and bool(text))
        if literal_indent is not None and (not text or indent > literal_indent):
            continue
        literal_indent = indent if text.endswith("::") else None
        if "|" in line and not doctest:
            parts = _INLINE_LITERAL.split(line)  # the odd-numbered parts are ``literals``
            lines[i] = "".join(part if k % 2 else part.replace("|", r"\|")
                               for k, part in enumerate(parts))


def _constant_docstring(app, what, name, obj, options, lines):
    """A constant's docstring is its type's (``int``, ``tuple``): put the comment on its line
    of source in its place (``AUTO_STEPS = 10_000  # optimizer steps of a fit ...``), if any."""
    if what != "data" or getattr(obj, "__doc__", None) != getattr(type(obj), "__doc__", 0):
        return
    module, _, attribute = name.rpartition(".")
    source = inspect.getsource(sys.modules[module])
    comment = re.search(rf"^{attribute}\s*=[^#\n]*#\s*(.+)$", source, re.M)
    lines[:] = [comment.group(1)] if comment else []


def _skip_namedtuple_fields(app, what, name, obj, skip, options):
    """A namedtuple's fields are described by its docstring, not by "Alias for field 0"."""
    if (obj.__doc__ or "").startswith("Alias for field number"):
        return True
    return None


class PublicModules(Autosummary):
    """``.. public-modules::``: the autosummary table of the public modules directly under
    mdnlite, with their pages in its toctree (the sidebar)."""

    has_content = False
    option_spec = {}

    def run(self):
        current = self.env.ref_context.get("py:module", "") + "."  # no module cycle, as above
        self.content = StringList([name.removeprefix(current) for name in TOP_MODULES])
        here = posixpath.dirname(self.env.docname)
        self.options = {"toctree": posixpath.relpath(GENERATED, here or ".")}
        return super().run()


def _write_module_pages(app):
    """Empty ``api/generated``, and write the pages of the public modules into it (and, from
    theirs, those of their public children). Autosummary writes the other pages, from the
    names it finds in the source files, where the table of the modules is not."""
    folder = os.path.join(app.srcdir, *GENERATED.split("/"))
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        listing = os.path.join(tmp, "modules.rst")
        with open(listing, "w", encoding="utf-8") as f:
            f.write(".. autosummary::\n   :toctree: .\n\n")
            f.writelines(f"   {name}\n" for name in TOP_MODULES)
        generate_autosummary_docs([listing], output_dir=folder, suffix=".rst", app=app,
                                  imported_members=app.config.autosummary_imported_members,
                                  encoding=app.config.source_encoding)


def setup(app):
    app.add_directive("public-modules", PublicModules)
    app.connect("builder-inited", _write_module_pages, priority=400)  # before autosummary's
    app.connect("autodoc-process-docstring", _plain_text_bars)
    app.connect("autodoc-process-docstring", _constant_docstring)
    app.connect("autodoc-skip-member", _skip_namedtuple_fields)
