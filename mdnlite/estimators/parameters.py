"""Constructor arguments as parameters, in scikit-learn's manner, for every estimator.

An estimator's ``__init__`` only stores its arguments under their own names; this mixin reads
them back (``get_params``), changes them (``set_params``) and prints them (``repr``), and
tells scikit-learn what kind of estimator it is (``__sklearn_tags__`` for scikit-learn 1.6
and newer, ``_estimator_type`` and ``_more_tags`` before), so that ``clone``, pipelines,
grid searches and cross-validation work without mdnlite depending on scikit-learn: it is
imported only when scikit-learn itself asks for the tags.
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

    # --- what scikit-learn asks -------------------------------------------------------------

    _estimator_type = "regressor"  # or "density_estimator"; scikit-learn < 1.6 reads this

    def __sklearn_tags__(self):
        """The estimator's tags for scikit-learn >= 1.6 (``sklearn.utils.get_tags``)."""
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        regressor = self._estimator_type == "regressor"
        return Tags(
            estimator_type=self._estimator_type,
            # a regressor needs y, of one or several target columns
            target_tags=TargetTags(required=regressor, multi_output=regressor,
                                   single_output=True),
            # score is a mean log-likelihood, not R²: no R² threshold applies
            regressor_tags=RegressorTags(poor_score=True) if regressor else None,
            input_tags=InputTags(allow_nan=False, sparse=False),
        )

    def _more_tags(self):
        """The same tags for scikit-learn < 1.6."""
        regressor = self._estimator_type == "regressor"
        return {"multioutput": regressor, "poor_score": True, "requires_y": regressor,
                "allow_nan": False}

    def _saved_params(self):
        """The parameters a saved file records (see ``io.save``): by default the current ones."""
        return self.get_params()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
