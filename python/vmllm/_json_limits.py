"""The core's JSON limits on the Python side (cpp/include/vmllm/json_limits.h).

Python's json recurses once per level and raises RecursionError at about 1,000; the core
refuses anything nested deeper than ``JSON_LIMITS["max_depth"]`` (128) with
InvalidArgumentError. These helpers make the Python steps in front of the core fail the same
way, so a caller sees one error type whatever the depth.
"""

from __future__ import annotations

import json
from typing import Any

from . import _core
from .errors import InvalidArgumentError

JSON_LIMITS: dict[str, int] = dict(_core.JSON_LIMITS)


def too_deep(what: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{what} is nested too deep for JSON; the limit is "
                                f"{JSON_LIMITS['max_depth']} (vmllm JSON limits)")


def dumps(value: Any, what: str, **kwargs: Any) -> str:
    """``json.dumps`` that raises InvalidArgumentError, not RecursionError, for deep values."""
    try:
        return json.dumps(value, **kwargs)
    except RecursionError:
        raise too_deep(what) from None


def check(text: str | bytes, what: str, limit: str) -> None:
    """Raises InvalidArgumentError when ``text`` is over ``JSON_LIMITS[limit]`` bytes or the
    depth limit; call it before ``json.loads`` of untrusted text."""
    _core.check_json_limits(text, what, JSON_LIMITS[limit])
