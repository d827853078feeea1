"""The progress display of a fit: a bar on a terminal (tqdm's or mdnlite's own), plain lines
in a log when asked, nothing otherwise."""

import io
import re
import sys

import numpy as np
import pytest

import mdnlite
from mdnlite.estimators import progress

SMALL = dict(hidden_sizes=(4,), batch_size=32, random_state=0)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def data(N=64):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, N)
    return x, np.sin(3 * x) + 0.1 * rng.standard_normal(N)


def fit(monkeypatch, stream, verbose, epochs=5, **kw):
    monkeypatch.setattr(sys, "stderr", stream)
    mdnlite.MDN(2, max_epochs=epochs, verbose=verbose, **SMALL).fit(*data(), **kw)
    return stream.getvalue()


@pytest.mark.parametrize("verbose", ["auto", 0])
def test_nothing_on_a_log_file_unless_asked(monkeypatch, verbose):
    assert fit(monkeypatch, io.StringIO(), verbose) == ""


def test_nothing_at_all_with_verbose_0(monkeypatch):
    assert fit(monkeypatch, Terminal(), 0) == ""


def test_lines_in_a_log_when_asked(monkeypatch):
    out = fit(monkeypatch, io.StringIO(), 1, epochs=40, validation_split=0.25)
    lines = out.splitlines()
    assert len(lines) == 20  # every second epoch of 40
    assert re.fullmatch(r"epoch 40/40  loss -?\d+\.\d{4}  val_loss -?\d+\.\d{4}  "
                        r"lr \d\.\d\de-\d\d  \d+\.\ds", lines[-1])
    every = fit(monkeypatch, io.StringIO(), 2, epochs=7)
    assert [line.split()[1] for line in every.splitlines()] == [f"{e}/7" for e in range(1, 8)]


@pytest.mark.parametrize("verbose", ["auto", 1])
def test_mdnlite_s_own_bar_without_tqdm(monkeypatch, verbose):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails
    monkeypatch.setattr(progress, "REFRESH", 0.0)  # draw every epoch
    out = fit(monkeypatch, Terminal(), verbose, validation_split=0.25)
    frames = out.split("\r")[1:]
    assert len(frames) == 6  # one per epoch, and the final state again at the end
    assert frames[0].startswith("epoch 1/5 [####................]  loss ")
    assert re.fullmatch(r"epoch 5/5 \[#{20}\]  loss -?\d+\.\d{4}  val_loss -?\d+\.\d{4}  "
                        r"lr \d\.\d\de-\d\d  0:\d\d elapsed, 0:\d\d left\n", frames[-1])


def test_the_bar_is_redrawn_at_most_every_refresh(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(progress, "REFRESH", 3600.0)
    out = fit(monkeypatch, Terminal(), "auto", epochs=50)
    assert out.count("\r") == 2  # the last epoch, and the close


def test_tqdm_s_bar_when_installed(monkeypatch):
    pytest.importorskip("tqdm")
    out = fit(monkeypatch, Terminal(), "auto", validation_split=0.25)
    last = out.split("\r")[-1]
    assert "5/5" in last and "epoch" in last
    assert re.search(r"loss=-?\d+\.\d{4}, val_loss=-?\d+\.\d{4}, lr=\d\.\d\de-\d\d", last)


def test_a_stopped_fit_shows_where_it_stopped(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    stop = mdnlite.EarlyStopping(monitor="loss", patience=0, min_delta=1e3, patience_steps=0)
    out = fit(monkeypatch, Terminal(), 1, epochs=30, callbacks=[stop])
    assert out.split("\r")[-1].startswith("epoch 2/30 [#")


@pytest.mark.parametrize("bad", ["yes", 3, -1, True, None, 1.0 + 1j])
def test_bad_verbose(bad):
    with pytest.raises(ValueError, match="verbose must be 'auto', 0, 1 or 2"):
        mdnlite.MDN(2, max_epochs=1, verbose=bad, **SMALL).fit(*data())
