"""Sphinx configuration: the mdnlite site (the pages in docs/ and the API reference).

Build it with ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``.
The API pages are generated from ``__all__``: every name in ``mdnlite.__all__`` has a page of
its own (``api/index.rst`` groups them), and every module has a page that documents the rest
of its ``__all__`` and links to the names it shares with the top level.
"""

import importlib
import inspect
import os
import pkgutil
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, "mdnlite")):  # a checkout: document its source
    sys.path.insert(0, ROOT)

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


def _api():
    """For each module: the names of its ``__all__`` that are documented at the top level
    (``mdnlite.X``), and the other names, each with the autodoc directive that documents it."""
    top = {name: getattr(mdnlite, name) for name in mdnlite.__all__}
    api = {}
    for info in pkgutil.iter_modules(mdnlite.__path__):
        module = importlib.import_module(f"mdnlite.{info.name}")
        toplevel, here = [], []
        for name in module.__all__:
            obj = getattr(module, name)
            if name in top and top[name] is obj:
                toplevel.append(name)
            else:
                here.append((name, *_directive(obj)))
        api[module.__name__] = {"toplevel": toplevel, "here": here}
    return api


autosummary_context = {"api": _api()}


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


def setup(app):
    app.connect("autodoc-process-docstring", _plain_text_bars)
    app.connect("autodoc-process-docstring", _constant_docstring)
    app.connect("autodoc-skip-member", _skip_namedtuple_fields)
