"""Progress of long work: a tqdm bar on a terminal, a plain line now and then everywhere else.

Pretraining, meta-training, comparison grids and the long scripts all report through
:class:`Progress`. Where stderr is a terminal it draws a tqdm bar; where it is not (a pipe, a
log file, ``nohup``, a CI job, a notebook) it writes one plain line when the work starts, one
every :data:`DEFAULT_INTERVAL_S` seconds (what, k/N, the current status such as epoch and loss,
elapsed time, ETA) and one when it ends: a bar redrawn with carriage returns would fill a log
with kilobytes per minute.

Silence it with ``progress=False`` where a function takes that keyword, ``--no-progress`` on
the command line, or ``NAS_GYM_PROGRESS=0`` in the environment (which wins over everything,
worker processes included). ``NAS_GYM_PROGRESS_INTERVAL`` sets the seconds between lines.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

PROGRESS_ENV = "NAS_GYM_PROGRESS"
INTERVAL_ENV = "NAS_GYM_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 30.0
_OFF, _ON = ("0", "false", "no", "off"), ("", "1", "true", "yes", "on")


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to report: not when ``progress`` is False or ``$NAS_GYM_PROGRESS`` says off."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if value not in _OFF + _ON:
        raise ValueError(f"${PROGRESS_ENV}={value!r}; valid: 0 (no progress output) or 1 (the default)")
    return progress is not False and value not in _OFF


def interval_s() -> float:
    """Seconds between two plain lines: ``$NAS_GYM_PROGRESS_INTERVAL``, else :data:`DEFAULT_INTERVAL_S`."""
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise ValueError(
            f"${INTERVAL_ENV}={text!r}; valid: seconds between progress lines, >= 0 (default {DEFAULT_INTERVAL_S:g})"
        )
    return value


def duration(seconds: float) -> str:
    """``1:02:03``, ``4:05`` or ``0:07``: a time span as people read it in logs."""
    s = int(round(max(seconds, 0.0)))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """``total`` units of work called ``desc``; :meth:`update` after each, :meth:`close` at the end
    (or use it as a context manager). Status keywords (``epoch="2/10", loss=0.41``) show beside
    the count; :meth:`note` writes a line that stays (a validation result)."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str = "step",
        *,
        initial: int = 0,
        enabled: bool | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.n = self._first = int(initial)
        self.status: dict[str, Any] = {}
        self.stream = sys.stderr if stream is None else stream
        self._bar: Any = None
        self._lines = False
        self._t0 = time.monotonic()
        if progress_enabled(enabled):
            if _is_terminal(self.stream):
                from tqdm import tqdm

                self._bar = tqdm(
                    total=self.total, initial=self.n, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True
                )
            else:
                self._lines, self._every = True, interval_s()
                self._line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def update(self, n: int = 1, **status: Any) -> None:
        """``n`` more units done; ``status`` replaces the shown values of the same names."""
        self.n += n
        self.status.update(status)
        if self._bar is not None:
            if status:
                self._bar.set_postfix({k: _text(v) for k, v in self.status.items()}, refresh=False)
            self._bar.update(n)
        elif self._lines and time.monotonic() - self._last >= self._every:
            self._line()

    def note(self, text: str) -> None:
        """A line of its own (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        elif self._lines:
            self._write(text)

    def close(self) -> None:
        """The last line (or the bar's last state); later calls do nothing."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._lines:
            self._lines = False
            if self._printed != self.n:
                self._line(final=True)

    def line(self, final: bool = False) -> str:
        """The plain line for the current state: what, k/N, status, elapsed time and ETA."""
        elapsed = time.monotonic() - self._t0
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        parts = [f"{self.desc}: {self.n}/{self.total} {self.unit}{'s' if self.total != 1 else ''}{pct}"]
        parts += [f"{k} {_text(v)}" for k, v in self.status.items()]
        parts.append(f"{duration(elapsed)} elapsed")
        done = self.n - self._first
        if not final and 0 < done and self.n < self.total:
            parts.append(f"ETA {duration(elapsed / done * (self.total - self.n))}")
        return ", ".join(parts)

    def _line(self, final: bool = False) -> None:
        self._write(self.line(final))
        self._printed = self.n

    def _write(self, text: str) -> None:
        self._last = time.monotonic()
        print(text, file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _text(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


__all__ = ["DEFAULT_INTERVAL_S", "INTERVAL_ENV", "PROGRESS_ENV", "Progress", "duration", "progress_enabled"]
