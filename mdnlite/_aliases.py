"""The module paths of mdnlite 0.1.0, still importable: each names the module that now holds it.

``import mdnlite.model`` or a pickle that refers to ``mdnlite.head._Softplus`` is resolved
here to the module of the current layout (docs/architecture.md), the very same module object,
so that old imports, old pickles and ``isinstance`` checks keep working. New code uses the
new paths; nothing here is loaded until an old path is asked for.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["OLD_MODULES", "install", "module_getattr"]

OLD_MODULES = {  # old module under mdnlite -> its home now
    "callbacks": "estimators.callbacks",
    "cholesky": "mixture.cholesky",
    "conditional": "estimators.conditional",
    "ensemble": "heads.ensemble",
    "estimator": "estimators.base",
    "examples": "plot.headless",
    "gmm": "estimators.gmm",
    "gradcheck": "nn.gradcheck",
    "head": "heads.mixture",
    "kmeans": "estimators.initialisation",
    "layers": "nn.layers",
    "mdninit": "estimators.initialisation",
    "mixture_checks": "mixture.checks",
    "model": "estimators.mdn",
    "modes": "mixture.meanshift",
    "network": "nn.network",
    "npzfile": "io.npzfile",
    "optim": "nn.optim",
    "params": "estimators.parameters",
    "predictions": "estimators.predictions",
    "progress": "estimators.progress",
    "quantiles": "mixture.univariate",
    "regressor": "estimators.regressor",
    "scaling": "estimators.scaling",
    "scores": "mixture.scores",
    "special": "mixture.special",
    "training": "estimators.training",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``mdnlite.<old>`` and loads it as the module that holds its contents now."""

    def __init__(self, package):
        self.package = package

    def find_spec(self, fullname, path=None, target=None):
        parent, _, name = fullname.rpartition(".")
        if parent != self.package or name not in OLD_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        name = spec.name.rpartition(".")[2]
        module = importlib.import_module(f"{self.package}.{OLD_MODULES[name]}")
        spec.loader_state = module.__spec__  # the import system overwrites __spec__: put it back
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # already loaded under its own name


def install(package):
    """Add the finder of ``package``'s old module paths to ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) and f.package == package for f in sys.meta_path):
        sys.meta_path.append(_Alias(package))


def module_getattr(package):
    """A package ``__getattr__`` that gives ``mdnlite.<old>`` as an attribute, as 0.1.0 did."""
    def __getattr__(name):
        if name in OLD_MODULES:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__
