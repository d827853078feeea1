"""``help(mdnlite.MDN)`` tells the whole story: every constructor parameter of the estimators
is documented in its class docstring, with the default it really has, and the Examples run."""

import ast
import doctest
import inspect
import io

import pytest

import mdnlite
from mdnlite.estimators.base import NetworkEstimator

ESTIMATORS = [mdnlite.MDN, mdnlite.Regressor, mdnlite.GaussianMixture]


def sections(cls):
    """{section title: its lines} of a numpydoc class docstring."""
    lines = inspect.cleandoc(cls.__doc__).splitlines()
    starts = [i for i in range(1, len(lines))
              if lines[i] and set(lines[i]) == {"-"} and len(lines[i]) == len(lines[i - 1])]
    ends = [i - 1 for i in starts[1:]] + [len(lines)]
    return {lines[i - 1]: lines[i + 1:end] for i, end in zip(starts, ends)}


def parameters(cls):
    """{name: (type line, description)} of the Parameters section; "a, b : t" is two names."""
    entries = {}
    for line in sections(cls)["Parameters"]:
        if line and not line[0].isspace():
            names, _, kind = line.partition(" : ")
            description = []
            for name in names.split(", "):
                entries[name] = (kind, description)
        elif line.strip():
            description.append(line.strip())
    return {name: (kind, " ".join(text)) for name, (kind, text) in entries.items()}


def init_parameters(cls):
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_every_parameter_is_documented(cls):
    documented, actual = set(parameters(cls)), set(init_parameters(cls))
    assert documented == actual, (f"{cls.__name__}'s docstring lacks {actual - documented} "
                                  f"and documents {documented - actual}, not in __init__")


@pytest.mark.parametrize("cls", [mdnlite.MDN, mdnlite.Regressor], ids=lambda cls: cls.__name__)
def test_documented_defaults_are_the_real_ones(cls):
    signature, documented = init_parameters(cls), parameters(cls)
    for name, p in signature.items():
        kind, description = documented[name]
        assert description, f"{cls.__name__}: {name} has no description"
        default = kind.rpartition("default=")[2]
        assert "default=" in kind and ast.literal_eval(default) == p.default, \
            f"{cls.__name__}: {name} is documented as {kind!r} but defaults to {p.default!r}"


@pytest.mark.parametrize("cls", [mdnlite.MDN, mdnlite.Regressor], ids=lambda cls: cls.__name__)
def test_network_parameters_read_as_in_network_estimator(cls):
    # the three copies of these texts cannot drift apart
    base = parameters(NetworkEstimator)
    ours = parameters(cls)
    for name, (_, description) in base.items():
        assert ours[name][1] == description, \
            f"{cls.__name__}'s {name} reads otherwise than NetworkEstimator's: copy it over"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_examples_run(cls):
    assert "Examples" in sections(cls), f"{cls.__name__}'s docstring has no Examples section"
    finder = doctest.DocTestFinder(recurse=False)
    (test,) = finder.find(cls, cls.__name__, globs={})
    assert len(test.examples) >= 4
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=report.write)
    assert result.failed == 0, report.getvalue()
