"""A dependency-free progress bar for the command line (redraws on a terminal, logs otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work done out of ``total`` (in ``unit``), drawing a bar on ``stream``."""

    def __init__(self, total: float, label: str, unit: str = "", stream: TextIO | None = None):
        self.total = max(total, 1e-9)
        self.label = label
        self.unit = unit
        self.done = 0.0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._tty = self.stream.isatty()
        self._last_draw = 0.0
        self._last_logged_tenth = -1

    def update(self, amount: float, note: str = "") -> None:
        self.done += amount
        now = time.perf_counter()
        if self._tty and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(note, end="\r")
        elif not self._tty:
            tenth = int(10 * self.done / self.total)
            if tenth != self._last_logged_tenth and tenth < 10:
                self._last_logged_tenth = tenth
                self._draw(note, end="\n")

    def close(self, note: str = "") -> None:
        self._draw(note, end="\n")

    def _draw(self, note: str, end: str) -> None:
        fraction = min(self.done / self.total, 1.0)
        width = 30
        filled = int(width * fraction)
        elapsed = time.perf_counter() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        text = (f"{self.label} [{bar}] {fraction:6.1%} {self.done:,.1f}/{self.total:,.1f}"
                f"{self.unit} {rate:,.1f}{self.unit}/s {note}")
        self.stream.write(text[:150].ljust(150 if end == "\r" else 0) + end)
        self.stream.flush()
