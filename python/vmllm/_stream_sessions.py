"""Stream sessions kept in one store: what the proxy (and any other stream front end) pages with.

Every session's pages and state live in the store, in space ``stream:<name>``, so a session
outlives the process: a restarted proxy, or a second one on the same store, carries on with the
same stubs, pins and fault history. Only the most recently used ``max_live`` sessions are held
as objects; one dropped from that set is reloaded from the store when its next request comes.
Session names are hashes, so no client-chosen string ever names a space.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from typing import Any

from . import _core
from .virtual_memory import VirtualMemory


def session_name(key: str) -> str:
    """The space-safe name of the session ``key`` (32 hex digits of its SHA-256)."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


class StreamSessions:
    """Sessions by key, kept in ``store``: a :class:`VirtualMemory` (left open at close), a
    path (opened with ``l2``), or None for a temporary store removed at :meth:`close`.

    ``options`` are :class:`_core.StreamSession`'s (``tau_turns``, ``min_evict_bytes``, ...),
    checked before anything is opened. Thread-safe; each session serialises its own rewrites.
    """

    def __init__(self, store: VirtualMemory | str | os.PathLike[str] | None = None,
                 l2: str | None = None, max_live: int = 1000, **options: Any) -> None:
        _core.StreamSession(**options)  # Fail now on a bad option, not per request.
        self.options = options
        self.owns_store = not isinstance(store, VirtualMemory)
        self.store = store if isinstance(store, VirtualMemory) else VirtualMemory(store, l2=l2)
        self.max_live = max_live
        self._live: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The session for ``key``, resumed from the store if it has been seen before."""
        with self._lock:
            session = self._live.get(key)
            if session is None:
                session = self._live[key] = _core.StreamSession(
                    **self.options, pager=self.store._engine, session=session_name(key))
                while len(self._live) > self.max_live:
                    self._live.popitem(last=False)  # Its state stays in the store.
            self._live.move_to_end(key)
            return session

    def __len__(self) -> int:
        """How many sessions are held in memory now."""
        with self._lock:
            return len(self._live)

    def live(self) -> list[Any]:
        """The sessions held in memory now."""
        with self._lock:
            return list(self._live.values())

    def close(self) -> None:
        with self._lock:
            self._live.clear()
        if self.owns_store:
            self.store.close()
