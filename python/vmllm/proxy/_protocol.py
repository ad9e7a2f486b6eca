"""The proxy's connections: aiohttp's HTTP/1.1 protocol with a header timeout and JSON errors.

aiohttp closes a connection idle between requests after ``keepalive_timeout``; it has no limit
on how long one request's headers may take, so a client sending a header a byte a minute
(slowloris) would hold its connection forever. Here every request's headers must be complete
within ``header_timeout`` of its first byte (or of the connection opening). A request llhttp
cannot parse (a Content-Length that is not a count, a smuggling attempt, a bad request line)
gets a 400 with a JSON body, one log line and no traceback (neither quoting the bytes it could
not parse), and its connection is closed: the bytes after a broken request cannot be trusted to
start the next one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ._errors import error_body, parser_message

_log = logging.getLogger("vmllm")


class Connection(RequestHandler):
    """One client connection. The request handler calls :meth:`request_started` once a
    request's headers are in and :meth:`request_finished` when it has answered."""

    def __init__(self, manager: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self.header_timeout = header_timeout
        self.busy = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio does this already; said here because the latency depends on it.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if not self.busy and self._header_timer is None:
            self._arm()  # The first bytes of the next request on a kept-alive connection.
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def request_started(self) -> None:
        self.busy = True
        self._disarm()

    def request_finished(self) -> None:
        self.busy = False

    def _arm(self) -> None:
        self._header_timer = asyncio.get_running_loop().call_later(
            self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.busy:
            self.force_close()

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("a response is under way; the connection is dropped")
        if status >= 500:
            _log.error("vmllm proxy: internal error", exc_info=exc)
            text = "internal error"
        else:
            text = f"bad HTTP request: {parser_message(str(message or exc or status))}"
            _log.info("vmllm proxy: %s", text[:200])
        resp = web.Response(status=status, body=error_body("", status, f"vmllm proxy: {text}"),
                            content_type="application/json")
        resp.force_close()
        return resp


class Server(web.Server):
    """aiohttp's low-level server making :class:`Connection` protocols."""

    def __init__(self, handler: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        return Connection(self, header_timeout=self.header_timeout, loop=self._loop,
                          **self._kwargs)
