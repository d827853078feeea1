"""Progress of a fit: a bar on a terminal, plain lines in a log, or nothing.

``verbose`` means:

- ``"auto"`` (the default): a progress bar when standard error is a terminal, nothing
  otherwise (a log file, a pipe, a test run);
- ``0``: nothing;
- ``1``: the bar on a terminal; elsewhere a plain line about 20 times per fit;
- ``2``: a plain line every epoch, wherever standard error goes.

The bar is tqdm's when tqdm is installed, else a one-line bar of mdnlite's own, rewritten in
place; both show the epoch, the training and validation losses, the learning rate, the time
spent and the time left. Nothing here costs a fit anything when it prints nothing.
"""

import math
import sys
import time

__all__ = ["VERBOSE", "check_verbose", "progress", "block_progress", "BLOCK_REPORT"]

VERBOSE = ("auto", 0, 1, 2)
REFRESH = 0.1  # seconds between two redraws of a bar


def check_verbose(value):
    """``value`` if it is one of VERBOSE (True and False are not); a clear error otherwise."""
    if isinstance(value, bool) or value not in VERBOSE:
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {value!r}")
    return value


def progress(verbose, n_epochs, stream=None):
    """The display for a fit of ``n_epochs`` epochs, or None when nothing is to be shown.

    It has ``update(epoch, logs, learning_rate)`` after each epoch and ``close()`` at the end.
    """
    stream = sys.stderr if stream is None else stream
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    if verbose == 0 or (verbose == "auto" and not terminal):
        return None
    if verbose == 2:
        return Lines(n_epochs, stream, every=1)
    if not terminal:
        return Lines(n_epochs, stream, every=max(1, n_epochs // 20))
    try:
        import tqdm
    except ImportError:
        return Bar(n_epochs, stream)
    return TqdmBar(tqdm.tqdm, n_epochs, stream)


def _fields(logs, learning_rate):
    """The numbers shown after each epoch, as strings."""
    fields = {name: f"{value:.4f}" for name, value in logs.items()}
    fields["lr"] = f"{learning_rate:.2e}"
    return fields


def _line(logs, learning_rate):
    """The same numbers as one line: "loss -1.0213  val_loss -0.9822  lr 3.00e-03"."""
    return "  ".join(f"{k} {v}" for k, v in _fields(logs, learning_rate).items())


def _clock(seconds):
    """m:ss, or h:mm:ss past an hour."""
    if not math.isfinite(seconds):
        return "?"
    minutes, s = divmod(int(round(seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


class Lines:
    """A plain line every ``every`` epochs (and after the last), for logs."""

    def __init__(self, n_epochs, stream, every):
        self.n_epochs, self.stream, self.every = n_epochs, stream, every
        self.start = time.perf_counter()

    def update(self, epoch, logs, learning_rate):
        done = epoch + 1
        if done % self.every and done != self.n_epochs:
            return
        elapsed = time.perf_counter() - self.start
        print(f"epoch {done}/{self.n_epochs}  {_line(logs, learning_rate)}  {elapsed:.1f}s",
              file=self.stream, flush=True)

    def close(self):
        pass


class Bar:
    """mdnlite's own bar: one line, redrawn at most every REFRESH seconds with a carriage
    return, ended with a newline by ``close``."""

    WIDTH = 20

    def __init__(self, n_epochs, stream):
        self.n_epochs, self.stream = n_epochs, stream
        self.start = self._drawn = time.perf_counter()
        self._last = None

    def update(self, epoch, logs, learning_rate):
        self._last = (epoch, logs, learning_rate)
        now = time.perf_counter()
        if now - self._drawn >= REFRESH or epoch + 1 == self.n_epochs:
            self._draw(now)

    def _draw(self, now):
        epoch, logs, learning_rate = self._last
        done = epoch + 1
        filled = self.WIDTH * done // self.n_epochs
        elapsed = now - self.start
        left = elapsed / done * (self.n_epochs - done)
        line = (f"\repoch {done}/{self.n_epochs} [{'#' * filled}{'.' * (self.WIDTH - filled)}]"
                f"  {_line(logs, learning_rate)}  {_clock(elapsed)} elapsed, {_clock(left)} left")
        self.stream.write(line)
        self.stream.flush()
        self._drawn = now

    def close(self):
        if self._last is not None:
            self._draw(time.perf_counter())  # the state the fit ended in (a callback may stop it)
            self.stream.write("\n")
            self.stream.flush()


class TqdmBar:
    """The same display through tqdm: its bar, rate and time left, our numbers after it."""

    def __init__(self, tqdm, n_epochs, stream):
        self.bar = tqdm(total=n_epochs, unit="epoch", file=stream, dynamic_ncols=True,
                        mininterval=REFRESH)
        self._drawn = 0.0
        self._last = None

    def update(self, epoch, logs, learning_rate):
        self._last = (logs, learning_rate)
        now = time.perf_counter()
        if now - self._drawn >= REFRESH:  # formatting the numbers is the costly part
            self.bar.set_postfix(_fields(logs, learning_rate), refresh=False)
            self._drawn = now
        self.bar.update(1)

    def close(self):
        if self._last is not None:
            self.bar.set_postfix(_fields(*self._last), refresh=False)
        self.bar.close()


BLOCK_REPORT = 2.0  # seconds: a prediction in blocks reports once it has taken this long


def block_progress(verbose, name, n_rows, n_blocks, stream=None):
    """The display of a prediction over ``n_rows`` rows in ``n_blocks`` blocks, or None.

    Shown for ``verbose`` 1 or 2 (not 0, nor "auto", so that predictions inside a script stay
    quiet unless asked), as a plain line at most every ``BLOCK_REPORT`` seconds, once the call
    has run that long: "predict_quantiles: 400,000 of 1,000,000 rows, 12.1s". It has
    ``update(block, rows_done)`` and ``close()``.
    """
    if n_blocks < 2 or isinstance(verbose, str) or verbose not in (1, 2):
        return None
    return BlockLines(name, n_rows, sys.stderr if stream is None else stream)


class BlockLines:
    """Lines of a long prediction: rows done, time spent, at most every BLOCK_REPORT s."""

    def __init__(self, name, n_rows, stream):
        self.name, self.n_rows, self.stream = name, n_rows, stream
        self.start = self._shown = time.perf_counter()

    def update(self, block, rows_done):
        now = time.perf_counter()
        if now - self._shown >= BLOCK_REPORT:
            print(f"{self.name}: {rows_done:,} of {self.n_rows:,} rows, "
                  f"{now - self.start:.1f}s", file=self.stream, flush=True)
            self._shown = now

    def close(self):
        if self._shown != self.start:  # something was shown: say that it ended
            print(f"{self.name}: {self.n_rows:,} rows, {time.perf_counter() - self.start:.1f}s",
                  file=self.stream, flush=True)
