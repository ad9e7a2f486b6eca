"""Stream sessions kept in one store: what the proxy (and any other stream front end) pages with.

Every session's pages and state live in the store, in space ``stream:<name>``, so a session
outlives the process: a restarted proxy, or a second one on the same store, carries on with the
same stubs, pins and fault history. Only the most recently used ``max_live`` sessions are held
as objects, and only as many as keep the sum of their weights (the size of the last request
each one paged: what a session holds in memory grows with it) under ``max_bytes``; one dropped
from that set is reloaded from the store when its next request comes.
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
                 l2: str | None = None, max_live: int = 1000, max_bytes: int = 1 << 30,
                 **options: Any) -> None:
        _core.StreamSession(**options)  # Fail now on a bad option, not per request.
        self.options = options
        self.owns_store = not isinstance(store, VirtualMemory)
        self.store = store if isinstance(store, VirtualMemory) else VirtualMemory(store, l2=l2)
        self.max_live = max_live
        self.max_bytes = max_bytes
        self._live: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, weight: int = 0) -> Any:
        """The session for ``key``, resumed from the store if it has been seen before.
        ``weight``: the size of the request it is about to page (see the module's doc)."""
        with self._lock:
            held = self._live.get(key)
            if held is None:
                session = _core.StreamSession(**self.options, pager=self.store._engine,
                                              session=session_name(key))
            else:
                session = held[0]
                self._bytes -= held[1]
            self._live[key] = (session, weight)
            self._bytes += weight
            self._live.move_to_end(key)
            # The least recently used go first, never the one just asked for.
            while len(self._live) > 1 and (len(self._live) > self.max_live
                                           or self._bytes > self.max_bytes):
                _, (_, dropped) = self._live.popitem(last=False)  # Its state stays in the store.
                self._bytes -= dropped
            return session

    def find(self, key: str) -> Any:
        """The session for ``key`` if it is held or has pages in the store, else None: for
        requests that read a session but must never start one."""
        with self._lock:
            held = self._live.get(key)
            if held is not None:
                return held[0]
        if f"stream:{session_name(key)}" not in self.store.spaces():
            return None
        return self.get(key)

    def __len__(self) -> int:
        """How many sessions are held in memory now."""
        with self._lock:
            return len(self._live)

    def live(self) -> list[Any]:
        """The sessions held in memory now."""
        with self._lock:
            return [session for session, _ in self._live.values()]

    def close(self) -> None:
        with self._lock:
            self._live.clear()
            self._bytes = 0
        if self.owns_store:
            self.store.close()
