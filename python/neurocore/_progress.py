"""Keras's progress display for the facade's fit, evaluate and predict.

``verbose=1`` draws a bar in a terminal (steps done, ETA, time per step, the
running loss and metrics), redrawn in place from the C++ batch loop at most
every 0.1 s; ``verbose=2`` prints one line per epoch. Output that is not a
terminal (a log file, a pipe, a notebook's captured stream) gets the finished
lines only, with no control characters. Durations take a unit that suits
them (``740ms``, ``3.2s``, ``2m05s``), per step in ms or us, as Keras shows.
"""

import math
import sys
import time

_GREEN, _GREY, _BOLD, _RESET = "\x1b[32m", "\x1b[37m", "\x1b[1m", "\x1b[0m"


def format_duration(seconds):
    """A duration with a unit that keeps its digits: 740ms, 3.2s, 42s, 2m05s, 1h02m."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def format_per_step(seconds, unit="step"):
    """Keras's time per step: whole seconds, ms or us."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _figure(value):
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 or math.isnan(value) else f"{value:.4e}"


def is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progbar:
    """A progress bar over ``target`` steps (Keras's ``Progbar``).

    Parameters
    ----------
    target : int
        Steps in the epoch (batches).
    verbose : {1, 2}, default=1
        1: a bar redrawn in place in a terminal (the finished line only
        elsewhere); 2: the finished line only.
    width : int, default=20
        The bar's characters.
    interval : float, default=0.1
        The least time, in seconds, between two redraws.
    stream : file-like, default=sys.stdout
        Where it writes.
    """

    def __init__(self, target, verbose=1, width=20, interval=0.1, stream=None):
        self.target = max(1, int(target))
        self.verbose, self.width, self.interval = int(verbose), int(width), float(interval)
        self.stream = sys.stdout if stream is None else stream
        self.dynamic = self.verbose == 1 and is_terminal(self.stream)
        try:  # the bar's character, where the stream can write it
            "━".encode(getattr(self.stream, "encoding", None) or "utf-8")
            self._tick = "━"
        except (LookupError, UnicodeEncodeError):
            self._tick = "="
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = 0  # characters of the line now on screen

    def _line(self, current, values, now, final):
        elapsed = now - self._start
        per_step = elapsed / max(current, 1)
        digits = len(str(self.target))
        count = f"{current:>{digits}}/{self.target}"
        figures = "".join(f" - {k}: {_figure(v)}" for k, v in values)
        if self.verbose == 2:
            return f"{count} - {format_duration(elapsed)} - {format_per_step(per_step)}{figures}", 0
        done = int(self.width * current / self.target)
        if self.dynamic:
            bar = (f"{_BOLD}{count}{_RESET} {_GREEN}{self._tick * done}{_RESET}"
                   f"{_GREY}{self._tick * (self.width - done)}{_RESET}")
            hidden = len(bar) - len(count) - 1 - self.width
        else:
            bar, hidden = f"{count} {self._tick * self.width}", 0
        clock = format_duration(elapsed) if final else "ETA " + format_duration(per_step * (self.target - current))
        return f"{bar} {clock} {format_per_step(per_step)}{figures}", hidden

    def update(self, current, values=(), finalize=False):
        """Show ``current`` steps done with ``values`` [(name, running value)]."""
        now = time.perf_counter()
        if not finalize:
            if not self.dynamic or now - self._last_draw < self.interval:
                return
        line, hidden = self._line(current, values, now, finalize)
        if self.dynamic:
            visible = len(line) - hidden
            pad = " " * max(0, self._drawn - visible)
            self.stream.write("\r" + line + pad + ("\n" if finalize else ""))
            self._drawn = 0 if finalize else visible
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_draw = now
