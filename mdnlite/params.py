"""Constructor arguments as parameters, in scikit-learn's manner, for every estimator.

An estimator's ``__init__`` only stores its arguments under their own names; this mixin reads
them back (``get_params``), changes them (``set_params``) and prints them (``repr``).
"""

import inspect

__all__ = ["Params"]


class Params:
    """Mixin: the parameters of an estimator are the arguments of its ``__init__``."""

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep=True):
        """The constructor arguments as a dict."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments; they take effect at the next ``fit``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}")
            setattr(self, name, value)
        return self

    def _saved_params(self):
        """The parameters a saved file records (see ``io.save``): by default the current ones."""
        return self.get_params()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
