"""What the proxy does with one request, on its event loop.

Paged routes: the body is parsed and rewritten by the session (native work, GIL released) in a
thread pool, never on the event loop; the rewritten body goes upstream on a pooled connection.
A streamed answer (``text/event-stream``) is relayed as it arrives, with backpressure (each
write waits for the client to drain); if the upstream fails mid-way the stream ends with the
wire format's error event. A whole answer that only calls vmllm's memory tools is answered by
the session (``follow_up``) and the request re-sent. Everything else is relayed unchanged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any, Callable, TypeVar

import aiohttp
from aiohttp import web

from .. import _core, _json_limits
from ..errors import BackendUnavailableError, InvalidArgumentError, StorageError
from . import _body, _routes
from ._errors import error_response, stream_error_event
from ._session_key import session_key
from ._upstream import describe, failure_status, is_event_stream, response_headers

_log = logging.getLogger("vmllm")
_MAX_FOLLOW_UPS = 4
_MAX_WARNED_ROUTES = 256
_UPSTREAM_FAILED = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
T = TypeVar("T")


async def _refuse(request: web.BaseRequest, resp: web.Response) -> web.Response:
    """Sends ``resp`` and closes the connection: the request's body was not read, so what
    follows on the connection cannot be trusted to start the next request."""
    try:
        await resp.prepare(request)
        await resp.write_eof()
    except ConnectionError:
        pass  # The client has gone already.
    request.protocol.force_close()
    return resp


@dataclasses.dataclass
class _Prepared:
    session: Any
    rewritten: bytes
    info: dict[str, Any]


class RequestHandler:
    """The proxy's request handler (aiohttp's low-level handler protocol)."""

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.metrics = proxy.metrics
        self.limits = proxy.limits
        self._warned: set[str] = set()

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.proxy.executor, fn, *args)

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        connection = request.protocol
        connection.request_started()
        started = time.perf_counter()
        label, status = "", 500
        try:
            resp, label = await self._dispatch(request)
            status = resp.status
            return resp
        finally:
            seconds = time.perf_counter() - started
            if label:
                self.metrics.count(label, status, seconds)
            self.proxy.access_log(request, status, seconds)
            connection.request_finished()

    async def _dispatch(self, request: web.BaseRequest) -> tuple[web.StreamResponse, str]:
        target = request.raw_path
        if request.method == "CONNECT" or not _routes.is_origin_form(target):
            self.metrics.add("bad_requests")
            return await _refuse(request, error_response(
                "", 400, "the request target must be a path; the upstream comes from the "
                "proxy's configuration")), "invalid"
        path = target.partition("?")[0]
        if request.method in ("GET", "HEAD") and path == "/healthz":
            return web.Response(text="ok\n"), ""
        if request.method == "GET" and path == "/metrics":
            text = await self._blocking(self.proxy.metrics_text)
            return web.Response(body=text.encode(), headers={
                "Content-Type": "text/plain; version=0.0.4; charset=utf-8"}), ""
        route = _routes.route(request.method, target)
        try:
            body = await _body.read_body(request, self.limits.max_body_bytes,
                                         self.limits.body_timeout)
        except _body.BodyError as exc:
            self.metrics.add("bad_requests")
            return await _refuse(request, error_response(route.wire, exc.status, str(exc))), \
                route.label
        if route.kind == _routes.PASSTHROUGH:
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                self._warn_once(route, path, "not a route the proxy pages")
            return await self._forward(request, route, body), route.label
        return await self._paged(request, route, body), route.label

    def _warn_once(self, route: _routes.Route, path: str, why: str) -> None:
        where = f"{route.label} {path[:100]}"
        if where in self._warned or len(self._warned) >= _MAX_WARNED_ROUTES:
            return
        self._warned.add(where)
        _log.warning("vmllm proxy: %s passed through unpaged (%s); said once per route",
                     path[:100], why)

    # --- paged routes -------------------------------------------------------------------

    def _prepare(self, route: _routes.Route, body: bytes, headers: Any) -> _Prepared | None:
        """Parses and rewrites a paged body (in the thread pool). None: forward it unpaged."""
        # The session's name without parsing the body in Python (json.loads of a 1 MB body
        # costs more than the whole native rewrite): the core reads the head and the rewrite
        # checks the rest.
        identity, upstream_history = _core.request_head(route.wire, body)
        if upstream_history:
            return None  # previous_response_id: the upstream holds the history, nothing to page.
        key = session_key(route.wire, identity, headers)
        if route.kind == _routes.COUNT_TOKENS:
            session = self.proxy.sessions.find(key)  # Counting never starts a session.
            if session is None:
                return None
            return _Prepared(None, session.preview(route.wire, body), {})
        session = self.proxy.sessions.get(key, weight=len(body))
        rewritten, info = session.rewrite(route.wire, body)
        return _Prepared(session, rewritten, info)

    async def _paged(self, request: web.BaseRequest, route: _routes.Route,
                     body: bytes) -> web.StreamResponse:
        try:
            prepared = await self._blocking(self._prepare, route, body, request.headers)
        except (StorageError, BackendUnavailableError) as exc:
            # The request is the client's: without its session it still goes upstream, whole.
            self.metrics.add("store_errors")
            _log.warning("vmllm proxy: session store failed (%s); request forwarded unchanged",
                         exc)
            prepared = _Prepared(None, body, {})
        except ValueError as exc:  # JSONDecodeError and InvalidArgumentError are ValueErrors.
            self.metrics.add("bad_requests")
            text = str(exc) if str(exc).startswith("malformed") else f"malformed request: {exc}"
            return error_response(route.wire, 400, text)
        if prepared is None:
            if route.kind == _routes.PAGED:
                why = "previous_response_id: the upstream holds the history"
                self._warn_once(route, route.target.partition("?")[0], why)
            return await self._forward(request, route, body)
        saved = prepared.info.get("bytes_before", 0) - prepared.info.get("bytes_after", 0)
        if saved > 0:
            self.metrics.add("bytes_saved", saved)
        up = await self._send(request, route, prepared.rewritten)
        if isinstance(up, web.Response):
            return up
        if is_event_stream(up):
            return await self._relay(request, up, route.wire)
        if prepared.session is None:
            return await self._relay(request, up, "")
        return await self._complete(request, route, prepared.session, body, up)

    async def _complete(self, request: web.BaseRequest, route: _routes.Route, session: Any,
                        original: bytes, up: aiohttp.ClientResponse) -> web.StreamResponse:
        """A whole answer: memory-tool calls are answered here and the request re-sent."""
        for attempt in range(_MAX_FOLLOW_UPS + 1):
            try:
                data = await self._read_whole(up)
            except _UPSTREAM_FAILED as exc:
                return self._upstream_failed(route, exc)
            # Only a call of a memory tool (vmllm_recall, ...) is answered here: an answer
            # that does not name one skips the session (and a thread-pool round trip).
            if up.status != 200 or attempt == _MAX_FOLLOW_UPS or b"vmllm_" not in data:
                break
            try:
                follow = await self._blocking(session.follow_up, route.wire, original, data)
            except InvalidArgumentError:
                follow = None  # Not a response we understand: the client gets it as it is.
            except (StorageError, BackendUnavailableError) as exc:
                self.metrics.add("store_errors")
                _log.warning("vmllm proxy: session store failed (%s); the response goes to "
                             "the client as it is", exc)
                follow = None
            if follow is None:
                break
            original, rewritten = follow
            self.metrics.add("follow_ups")
            sent = await self._send(request, route, rewritten)
            if isinstance(sent, web.Response):
                return sent
            up = sent
        return web.Response(status=up.status, reason=up.reason, body=data,
                            headers=response_headers(up.headers))

    async def _read_whole(self, up: aiohttp.ClientResponse) -> bytes:
        limit = _json_limits.JSON_LIMITS["llm_reply_bytes"]
        try:
            chunks, total = [], 0
            while chunk := await up.content.readany():
                total += len(chunk)
                if total > limit:
                    raise aiohttp.ClientPayloadError(f"upstream reply over {limit} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            up.release()

    # --- the upstream -----------------------------------------------------------------------

    async def _send(self, request: web.BaseRequest, route: _routes.Route,
                    body: bytes | None) -> aiohttp.ClientResponse | web.Response:
        """The upstream's response to ``body``, or the error answer for the client."""
        started = time.perf_counter()
        try:
            up = await self.proxy.client.send(request.method, route.target, request.headers,
                                              body)
        except _UPSTREAM_FAILED as exc:
            return self._upstream_failed(route, exc)
        self.metrics.upstream(time.perf_counter() - started)
        return up

    def _upstream_failed(self, route: _routes.Route, exc: BaseException) -> web.Response:
        self.metrics.add("upstream_errors")
        status = failure_status(exc)
        what = "timed out" if status == 504 else "unreachable"
        return error_response(route.wire, status, f"upstream {what}: {describe(exc)}")

    async def _forward(self, request: web.BaseRequest, route: _routes.Route,
                       body: bytes) -> web.StreamResponse:
        """Any other request, as it came: method, path, query, body, headers."""
        up = await self._send(request, route, body if body or request.body_exists else None)
        if isinstance(up, web.Response):
            return up
        return await self._relay(request, up, "")

    async def _relay(self, request: web.BaseRequest, up: aiohttp.ClientResponse,
                     wire: str) -> web.StreamResponse:
        """Relays the upstream's answer as it arrives. If the upstream fails mid-way, a paged
        stream ends with ``wire``'s error event and a clean end; anything else is cut off
        (the client sees a short body, as it would from the upstream itself)."""
        resp = web.StreamResponse(status=up.status, reason=up.reason,
                                  headers=response_headers(up.headers))
        if up.content_length is not None and not wire:
            resp.content_length = up.content_length
        failure: BaseException | None = None
        try:
            await resp.prepare(request)
            tail = b"\n\n"
            while True:
                try:
                    chunk = await up.content.readany()
                except _UPSTREAM_FAILED as exc:
                    failure = exc
                    break
                if not chunk:
                    break
                await resp.write(chunk)  # Waits while the client is slow: backpressure.
                tail = (tail + chunk)[-2:]
            if failure is not None:
                self.metrics.add("upstream_errors")
                if not wire:
                    request.protocol.force_close()
                    return resp
                event = stream_error_event(wire, f"upstream failed mid-stream: "
                                                 f"{describe(failure)}")
                await resp.write(event if tail == b"\n\n" else b"\n\n" + event)
            await resp.write_eof()
            if failure is not None:
                request.protocol.force_close()  # After the clean end: the stream is over.
        except ConnectionError:
            up.close()  # The client went away: stop reading from the upstream.
        finally:
            up.release()
        return resp
