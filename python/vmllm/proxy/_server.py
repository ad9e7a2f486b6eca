"""The proxy server's life: a listening socket, its own event loop, graceful shutdown.

The socket is bound when :class:`PagingProxy` is made (so ``url`` is known at once, port 0
included); :meth:`PagingProxy.serve_forever` runs an asyncio loop in the calling thread until
:meth:`PagingProxy.shutdown` (from any other thread) stops it: no new connections, requests in
flight get ``shutdown_grace`` seconds to finish, then connections close. ``with proxy:`` or
:meth:`PagingProxy.start` runs it on a background thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .._json_limits import JSON_LIMITS
from .._stream_sessions import StreamSessions
from ..errors import InvalidArgumentError, StorageError
from ._handler import RequestHandler
from ._metrics import Metrics, render
from ._protocol import Server
from ._routes import UpstreamURL
from ._upstream import UpstreamClient

_log = logging.getLogger("vmllm")


@dataclasses.dataclass(frozen=True)
class ProxyLimits:
    """Timeouts (seconds) and sizes. ``header_timeout``: a request's headers, from its first
    byte; ``body_timeout``: its whole body; ``idle_timeout``: a kept-alive connection between
    requests (client side and pooled upstream side); ``upstream_read_timeout``: between two
    reads of an upstream answer, not its total; ``upstream_connections``: pooled connections
    to the upstream at most; ``max_session_bytes``: sessions held in memory, by the size of
    their last request; ``shutdown_grace``: how long requests in flight may take to finish."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    idle_timeout: float = 75.0
    upstream_connect_timeout: float = 10.0
    upstream_read_timeout: float = 600.0
    max_body_bytes: int = JSON_LIMITS["request_body_bytes"]
    upstream_connections: int = 100
    max_session_bytes: int = 1 << 30
    shutdown_grace: float = 10.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InvalidArgumentError(f"{field.name} must be a positive number, "
                                           f"got {value!r}")


def redact(target: str) -> str:
    """A request target for a log: query values hidden (``?key=...`` may be an API key)."""
    path, sep, query = target.partition("?")
    if not sep:
        return path[:200]
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return path[:200] + "?" + "&".join(f"{name[:40]}=<redacted>" for name in names[:20])


class PagingProxy:
    """The paging proxy. ``serve_forever()`` to run it in this thread, ``shutdown()`` from
    another to stop it, ``server_close()`` to release it; or ``with PagingProxy(...) as p:``
    to run it on a background thread for the block.

    ``store``: a path (or a :class:`VirtualMemory`) where sessions live; None for a temporary
    store removed at :meth:`server_close`. ``l2``: as for VirtualMemory. ``max_sessions``
    bounds the sessions held in memory, not those in the store. ``log``: where the access log
    goes (stderr by default; method, path with query values hidden, status and time: never a
    header). ``session_options`` are :class:`_core.StreamSession`'s (``tau_turns``...).
    """

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 8080,
                 max_sessions: int = 1000, log: Any = None, store: Any = None,
                 l2: str | None = None, limits: ProxyLimits | None = None,
                 **session_options: Any) -> None:
        self.upstream = UpstreamURL(upstream)
        self.limits = limits if limits is not None else ProxyLimits()
        self.sessions = StreamSessions(store, l2=l2, max_live=max_sessions,
                                       max_bytes=self.limits.max_session_bytes,
                                       **session_options)
        self.metrics = Metrics()
        self.log = log if log is not None else sys.stderr
        self.executor = ThreadPoolExecutor(max_workers=min(32, (os.cpu_count() or 1) + 4),
                                           thread_name_prefix="vmllm-proxy")
        self.client: UpstreamClient | None = None
        try:
            self.socket = socket.create_server((host, port), backlog=1024)
        except BaseException:
            self.executor.shutdown()
            self.sessions.close()
            raise
        self.server_address: tuple[Any, ...] = self.socket.getsockname()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._serving = self._stop_asked = self._closed = False
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def session(self, key: str) -> Any:
        return self.sessions.get(key)

    def metrics_text(self) -> str:
        return render(self.metrics, self.sessions)

    def access_log(self, request: web.BaseRequest, status: int, seconds: float) -> None:
        try:
            self.log.write(f"vmllm proxy: {request.remote} \"{request.method} "
                           f"{redact(request.raw_path)}\" {status} {seconds * 1e3:.1f}ms\n")
        except (OSError, ValueError):
            pass  # A closed log never fails a request.

    # --- running -----------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serves until :meth:`shutdown`. Blocks; runs its own event loop in this thread."""
        with self._lock:
            if self._serving or self._closed:
                raise RuntimeError("the proxy is already serving or closed")
            self._serving = True
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._failure = exc
            raise
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set()
            self._ready.set()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        with self._lock:
            self._loop, self._stop = loop, stop
            if self._stop_asked:
                stop.set()
        limits = self.limits
        self.client = UpstreamClient(self.upstream, limits.upstream_connections,
                                     limits.upstream_connect_timeout,
                                     limits.upstream_read_timeout, limits.idle_timeout)
        server = Server(RequestHandler(self), header_timeout=limits.header_timeout,
                        keepalive_timeout=limits.idle_timeout, access_log=None)
        listening = await loop.create_server(server, sock=self.socket)
        try:
            self._ready.set()
            await stop.wait()
        finally:
            listening.close()  # No new connections; those open finish their requests.
            server.pre_shutdown()  # Idle kept-alive connections close now.
            await server.shutdown(limits.shutdown_grace)
            await self.client.close()

    def start(self) -> PagingProxy:
        """Serves on a background thread; returns once the proxy accepts connections."""
        threading.Thread(target=self._serve_quietly, name="vmllm-proxy", daemon=True).start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def _serve_quietly(self) -> None:
        try:
            self.serve_forever()
        except BaseException:  # Kept for start() to raise in the caller's thread.
            pass

    def shutdown(self) -> None:
        """Stops serving and waits for it (requests in flight get ``shutdown_grace``).
        Thread-safe; never call it from the proxy's own loop."""
        with self._lock:
            self._stop_asked = True
            loop, stop, serving = self._loop, self._stop, self._serving
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass  # The loop has already closed.
        if serving:
            self._stopped.wait()

    def server_close(self) -> None:
        """Releases the socket, the thread pool and the session store (after shutdown)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.socket.close()
        self.executor.shutdown(wait=True)
        try:
            self.sessions.close()
        except StorageError as exc:
            # A store deleted or made unwritable while serving: every request was still
            # forwarded, and stopping is no failure either.
            _log.warning("vmllm proxy: closing the session store failed: %s", exc)

    def __enter__(self) -> PagingProxy:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.shutdown()
        self.server_close()
