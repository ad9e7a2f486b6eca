"""Choosing the L2 backend, and turning the core's backend warnings into ``logging`` records.

The native core never calls into Python: a backend that degrades (Redis gone, then back) posts a
warning to a queue in the core, and :class:`WarningPager` drains it after every call, logging
each message on the ``"vmllm"`` logger. Warnings are posted on state changes only, so a dead
server yields one warning, not one per call.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

from . import _core
from .errors import InvalidArgumentError

logger = logging.getLogger("vmllm")

_REDIS_SCHEMES = ("redis://", "unix://", "rediss://")


def resolve_l2(l2: str | None) -> str:
    """The Redis URL for ``l2`` (``""`` for the embedded L2), checked.

    ``None`` means ``$REDIS_URL`` when it is set, else ``"memory"``.

    Raises:
        InvalidArgumentError: ``l2`` is neither ``"memory"`` nor a valid Redis URL.
    """
    if l2 is None:
        l2 = os.environ.get("REDIS_URL") or "memory"
    if not isinstance(l2, str):
        raise InvalidArgumentError(f"l2 must be a str, not {type(l2).__name__}")
    if l2 == "memory":
        return ""
    if not l2.startswith(_REDIS_SCHEMES):
        scheme = l2.split("://", 1)[0] if "://" in l2 else l2[:20]
        raise InvalidArgumentError(
            "l2 must be 'memory', 'redis://[user:password@]host:port/db' or "
            f"'unix:///path/to/redis.sock?db=N', not {scheme!r}")
    _core.parse_redis_url(l2)  # Raises InvalidArgumentError naming the bad part.
    return l2


def log_backend_warnings() -> None:
    """Log (and clear) the warnings the core's backends have posted."""
    for message in _core.take_backend_warnings():
        logger.warning("%s", message)


class WarningPager:
    """A ``_core.Pager`` that logs backend warnings after each call.

    Used only when a remote backend is configured, so the embedded default pays nothing.
    """

    def __init__(self, pager: _core.Pager) -> None:
        self._pager = pager

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._pager, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            finally:
                log_backend_warnings()

        wrapped: Callable[..., Any] = call
        setattr(self, name, wrapped)  # Later lookups skip __getattr__.
        return wrapped
