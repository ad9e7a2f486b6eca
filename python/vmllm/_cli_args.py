"""Argument parsing for the ``vmllm`` command line: one-line errors and range-checked numbers.

Every number an option takes is checked here, before it reaches the native core, where an
out-of-range value would surface as a pybind11 ``TypeError`` or ``OverflowError``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

#: Upper bounds far above any real use and far below C++'s integer ranges.
MAX_TOKENS = 1_000_000_000
MAX_BYTES = 1 << 50
MAX_TURNS = 1_000_000
MAX_PORT = 65535


class UsageError(Exception):
    """A command line the user got wrong: reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are raised, so ``main`` prints them as one line.

    Subparsers inherit the class, so ``vmllm proxy --port x`` fails the same way.
    """

    def error(self, message: str) -> NoReturn:
        # self.prog is "vmllm proxy" for a subcommand: point at that command's help.
        raise UsageError(f"{message} (see: {self.prog} --help)")


def int_in(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {minimum:,} to {maximum:,}, not {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def positive_float(maximum: float) -> Callable[[str], float]:
    """An argparse ``type`` accepting finite numbers above 0, up to ``maximum``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= maximum):
            raise argparse.ArgumentTypeError(
                f"must be a number above 0 and at most {maximum:,g}, not {text!r}")
        return value

    parse.__name__ = "number"
    return parse


tokens = int_in(1, MAX_TOKENS)
tokens_or_zero = int_in(0, MAX_TOKENS)
byte_count = int_in(0, MAX_BYTES)
positive_bytes = int_in(1, MAX_BYTES)
turns = int_in(1, MAX_TURNS)
port = int_in(0, MAX_PORT)
