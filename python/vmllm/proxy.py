"""A transparent paging proxy between an agent and an OpenAI- or Anthropic-compatible API.

``vmllm proxy --upstream URL`` listens on 127.0.0.1:8080 (unless told otherwise) and speaks
``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/messages`` (Anthropic). Each request is
rewritten by the native stream layer (``_core.StreamSession``): stale tool results become stubs,
unused tool schemas shrink, the memory tools are offered. Streaming responses (SSE) are relayed
chunk by chunk as they arrive; a non-streaming response that only calls vmllm's memory tools
(e.g. ``vmllm_recall``) is answered by the proxy from its page store and the request re-sent, so
the client sees only the final answer. In a streaming response a memory-tool call does reach
the client (chunks already relayed cannot be taken back); on the next request the proxy replaces
the client's reply to that call with its own answer, and the call takes effect there. Anything
else is passed through unchanged.

Sessions are keyed by the ``X-Vmllm-Session`` header when given, otherwise by a hash of the wire
format, the model and the conversation's first two messages, and always by a hash of the
caller's API key. A session's pages and state live in the store (``--store PATH``; a temporary
one by default): memory stays bounded however long a session runs, a restarted proxy resumes
its sessions with byte-identical stubs, and proxies sharing a store share sessions. A store
error never fails a request: it goes upstream unchanged, with a warning. ``/healthz`` answers ``ok``;
``/metrics`` is Prometheus text. The client's API key (``Authorization`` / ``x-api-key``) is
forwarded upstream and never logged. A malformed body gets a 400 with a JSON error and the
proxy keeps serving.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import _cli_args as _args
from . import _json_limits
from ._stream_sessions import StreamSessions
from .errors import BackendUnavailableError, InvalidArgumentError, StorageError
from .virtual_memory import VirtualMemory

_log = logging.getLogger("vmllm")

_ROUTES = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
_HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding",
               "accept-encoding", "proxy-authorization", "te", "upgrade"}
_MAX_FOLLOW_UPS = 4
_SESSION_HEADER = "x-vmllm-session"


class _Metrics:
    """Proxy counters; the stream counters come from the sessions themselves."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.bad_requests = 0
        self.upstream_errors = 0
        self.follow_ups = 0
        self.store_errors = 0
        self.seconds = 0.0

    def count(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
            self.seconds += seconds


class PagingProxy(ThreadingHTTPServer):
    """The proxy server. ``serve_forever()`` to run; ``shutdown()`` from another thread to stop."""

    daemon_threads = True

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 8080,
                 max_sessions: int = 1000, log: Any = None, store: Any = None,
                 l2: str | None = None, **session_options: Any) -> None:
        """``store``: a path (or a :class:`VirtualMemory`) where sessions live; None for a
        temporary store removed at :meth:`server_close`. ``l2``: as for VirtualMemory.
        ``max_sessions`` bounds the sessions held in memory, not those in the store."""
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgumentError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = parts
        self.sessions = StreamSessions(store, l2=l2, max_live=max_sessions, **session_options)
        self.metrics = _Metrics()
        self.log = log if log is not None else sys.stderr
        try:
            super().__init__((host, port), _Handler)
        except BaseException:
            self.sessions.close()
            raise

    def server_close(self) -> None:
        super().server_close()
        try:
            self.sessions.close()
        except StorageError as exc:
            # A store deleted or made unwritable while serving: every request was still
            # forwarded, and stopping is no failure either.
            _log.warning("vmllm proxy: closing the session store failed: %s", exc)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def session(self, key: str) -> Any:
        return self.sessions.get(key)

    def connect(self) -> http.client.HTTPConnection:
        u = self.upstream
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        return cls(u.hostname, u.port, timeout=600)

    def metrics_text(self) -> str:
        stats = [s.stats() for s in self.sessions.live()]
        m = self.metrics
        lines = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP vmllm_proxy_{name} {help_text}")
            lines.append(f"# TYPE vmllm_proxy_{name} {kind}")
            lines.extend(f"vmllm_proxy_{name}{labels} {_sample_value(value)}"
                         for labels, value in samples)

        with m.lock:
            metric("requests_total", "counter", "Requests by route and status.",
                   [(f'{{route="{r}",status="{s}"}}', n) for (r, s), n in sorted(m.requests.items())]
                   or [("", 0)])
            metric("bad_requests_total", "counter", "Malformed bodies answered with 400.",
                   [("", m.bad_requests)])
            metric("upstream_errors_total", "counter", "Upstream unreachable (502).",
                   [("", m.upstream_errors)])
            metric("follow_ups_total", "counter", "Memory-tool calls answered by the proxy.",
                   [("", m.follow_ups)])
            metric("store_errors_total", "counter",
                   "Requests forwarded unchanged because the session store failed.",
                   [("", m.store_errors)])
            metric("request_seconds_total", "counter", "Time spent serving requests.",
                   [("", m.seconds)])
        metric("sessions", "gauge", "Sessions held in memory.", [("", len(stats))])
        store = self.sessions.store
        spaces = [s for s in store.spaces() if s.startswith("stream:")]
        metric("store_sessions", "gauge", "Sessions kept in the store (every process's).",
               [("", len(spaces))])
        metric("store_pages", "gauge", "Pages the sessions keep in the store.",
               [("", sum(store.stats(space)["total_pages"] for space in spaces))])
        for key, kind, text in [
                ("evictions", "counter", "Tool results turned into stubs."),
                ("faults", "counter", "Recalls plus re-issued calls of paged-out results."),
                ("recall_faults", "counter", "Faults by vmllm_recall."),
                ("reissue_faults", "counter", "Faults by the same tool call issued again."),
                ("pinned_keys", "gauge", "Call keys pinned after a fault."),
                ("pages", "gauge", "Pages in the sessions' stores."),
                ("bytes_in", "counter", "Request bytes as received."),
                ("bytes_out", "counter", "Request bytes as forwarded."),
                ("deferred_by_cache", "counter", "Requests where the cache gate held evictions.")]:
            suffix = "_total" if kind == "counter" else ""
            metric(key + suffix, kind, text, [("", sum(s[key] for s in stats))])
        return "\n".join(lines) + "\n"


def _sample_value(value: float) -> str:
    """A sample as Prometheus text: integers exactly (``%g`` would print 3.87772e+06), floats
    with every digit ``repr`` gives, infinities and NaN as the format spells them."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a metric must be a number, not {value!r}")
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _credential(headers: Any) -> str:
    """A hash of the caller's API key (never the key): sessions of two keys never meet."""
    key = headers.get("Authorization") or headers.get("x-api-key") or headers.get("api-key") or ""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _session_key(wire: str, request: dict[str, Any], headers: Any) -> str:
    credential = _credential(headers)
    given = headers.get(_SESSION_HEADER)
    if given:
        return f"h:{credential}:{given}"
    head = {"wire": wire, "model": request.get("model"), "system": request.get("system"),
            "first": request.get("messages", [])[:2], "credential": credential}
    return hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode()).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    server: PagingProxy
    protocol_version = "HTTP/1.1"
    # Small writes go out at once: with Nagle's algorithm and delayed ACKs every proxied
    # request waited ~40 ms.
    disable_nagle_algorithm = True
    # Every read from a client (headers, body, the next keep-alive request) gives up after
    # this long, so a client that sends slowly or not at all cannot hold a thread forever.
    timeout = 60.0

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature.
        # Method, path and status only: never headers, so API keys never reach a log.
        self.server.log.write(f"vmllm proxy: {self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, kind: str, message: str) -> None:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        self._send(status, json.dumps(body).encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib name.
        if self.path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif self.path == "/metrics":
            self._send(200, self.server.metrics_text().encode(), "text/plain; version=0.0.4")
        else:
            self._forward_raw(b"")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name.
        started = time.perf_counter()
        route = _ROUTES.get(self.path.split("?", 1)[0])
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit():  # Negative or not a number: the body's end is unknown.
            self.close_connection = True
            with self.server.metrics.lock:
                self.server.metrics.bad_requests += 1
            self._error(400, "invalid_request_error",
                        "vmllm proxy: Content-Length must be a non-negative integer")
            return
        length = int(declared)
        limit = _json_limits.JSON_LIMITS["request_body_bytes"]
        if length > limit:
            # Refused unread, so the connection cannot be reused: close it.
            self.close_connection = True
            with self.server.metrics.lock:
                self.server.metrics.bad_requests += 1
            self._error(413, "invalid_request_error", f"vmllm proxy: request body is {length} "
                        f"bytes; the limit is {limit} bytes (vmllm JSON limits)")
            if route is not None:
                self.server.metrics.count(route, 413, time.perf_counter() - started)
            return
        body = self.rfile.read(length) if length > 0 else b""
        if route is None:
            self._forward_raw(body)
            return
        status = self._serve(route, body)
        self.server.metrics.count(route, status, time.perf_counter() - started)

    def _serve(self, wire: str, body: bytes) -> int:
        try:
            # Before json.loads, which recurses: InvalidArgumentError past the core's limits.
            _json_limits.check(body, "request body", "request_body_bytes")
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("the body must be a JSON object")
            if not isinstance(request.get("messages", []), list):
                raise ValueError("messages must be a list")
            session = self.server.session(_session_key(wire, request, self.headers))
            rewritten, _ = session.rewrite(wire, body)
        except (StorageError, BackendUnavailableError) as exc:
            # The request is the client's: without its session it still goes upstream, whole.
            with self.server.metrics.lock:
                self.server.metrics.store_errors += 1
            _log.warning("vmllm proxy: session store failed (%s); request forwarded unchanged",
                         exc)
            session, rewritten = None, body
        except ValueError as exc:  # JSONDecodeError and InvalidArgumentError are ValueErrors.
            with self.server.metrics.lock:
                self.server.metrics.bad_requests += 1
            text = str(exc) if str(exc).startswith("malformed") else f"malformed request: {exc}"
            self._error(400, "invalid_request_error", f"vmllm proxy: {text}")
            return 400
        try:
            if request.get("stream"):
                return self._stream(rewritten)
            return self._complete(wire, session, body, rewritten)
        except OSError as exc:
            with self.server.metrics.lock:
                self.server.metrics.upstream_errors += 1
            if not self.wfile.closed:
                try:
                    self._error(502, "api_error", f"vmllm proxy: upstream unreachable: {exc}")
                except OSError:
                    pass
            return 502

    def _upstream_headers(self, length: int) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP
                   and k.lower() != _SESSION_HEADER}
        headers["Content-Length"] = str(length)
        headers["Accept-Encoding"] = "identity"  # The proxy reads responses; no gzip.
        return headers

    def _post(self, body: bytes) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = self.server.connect()
        path = self.server.upstream.path.rstrip("/") + self.path
        conn.request("POST", path, body=body, headers=self._upstream_headers(len(body)))
        return conn, conn.getresponse()

    def _relay_headers(self, resp: http.client.HTTPResponse, length: int | None) -> None:
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in _HOP_BY_HOP:
                self.send_header(k, v)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _complete(self, wire: str, session: Any, original: bytes, rewritten: bytes) -> int:
        request = original
        for _ in range(_MAX_FOLLOW_UPS + 1):
            conn, resp = self._post(rewritten)
            try:
                data = resp.read()
            finally:
                conn.close()
            if resp.status != 200:
                break
            try:
                follow = None if session is None else session.follow_up(wire, request, data)
            except InvalidArgumentError:
                follow = None  # Not a response we understand: the client gets it as it is.
            except (StorageError, BackendUnavailableError) as exc:
                with self.server.metrics.lock:
                    self.server.metrics.store_errors += 1
                _log.warning("vmllm proxy: session store failed (%s); the response goes to "
                             "the client as it is", exc)
                follow = None
            if follow is None:
                break
            request, rewritten = follow
            with self.server.metrics.lock:
                self.server.metrics.follow_ups += 1
        self._relay_headers(resp, len(data))
        self.wfile.write(data)
        return resp.status

    def _stream(self, rewritten: bytes) -> int:
        conn, resp = self._post(rewritten)
        try:
            self._relay_headers(resp, None)
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            conn.close()
        return resp.status

    def _forward_raw(self, body: bytes) -> None:
        """Any other path goes upstream untouched (e.g. /v1/models)."""
        try:
            conn = self.server.connect()
            path = self.server.upstream.path.rstrip("/") + self.path
            conn.request(self.command, path, body=body or None,
                         headers=self._upstream_headers(len(body)))
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError as exc:
            self._error(502, "api_error", f"vmllm proxy: upstream unreachable: {exc}")
            return
        self._relay_headers(resp, len(data))
        self.wfile.write(data)


def add_parser(sub: Any) -> None:
    """Adds ``vmllm proxy`` to the command line's subparsers."""
    p = sub.add_parser("proxy", help="run the paging proxy in front of an OpenAI/Anthropic API",
                       description="Page the message stream of an agent: listen for OpenAI "
                       "(/v1/chat/completions) and Anthropic (/v1/messages) requests and "
                       "forward them upstream with stale tool results paged out. /healthz and "
                       "/metrics (Prometheus text) too.")
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="the API to forward to, e.g. https://api.openai.com")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_args.port, default=8080,
                   help="port to listen on, 0 for any free one (default 8080)")
    p.add_argument("--tau", type=_args.turns, default=4, metavar="TURNS",
                   help="age in turns before a tool result is evictable (default 4)")
    p.add_argument("--s-min", type=_args.byte_count, default=500, metavar="BYTES",
                   help="smallest evictable tool result in bytes (default 500)")
    p.add_argument("--window-tokens", type=_args.tokens_or_zero, default=0, metavar="N",
                   help="context window for pressure levels (default 0: no pressure handling)")
    p.add_argument("--cache-aware", action="store_true",
                   help="batch evictions so they pay for the prompt-cache rewrite")
    p.add_argument("--no-schema-stubs", action="store_true", help="send tool schemas in full")
    p.add_argument("--store", metavar="PATH", default=None,
                   help="store directory for the sessions' pages and state, so they survive a "
                   "restart and proxies on one store share sessions (default: a temporary "
                   "store, removed at exit)")
    p.add_argument("--l2", metavar="URL", default=None,
                   help="'memory' or a Redis URL for the hot tier (default: $REDIS_URL, else "
                   "memory)")
    p.set_defaults(run=run_cli)


def run_cli(args: Any) -> int:
    """Runs ``vmllm proxy`` until interrupted."""
    server = PagingProxy(args.upstream, args.host, args.port, tau_turns=args.tau,
                         min_evict_bytes=args.s_min, window_tokens=args.window_tokens,
                         cache_aware=args.cache_aware, stub_unused_tools=not args.no_schema_stubs,
                         store=args.store, l2=args.l2)
    where = f"store {args.store}" if args.store else "a temporary store"
    print(f"vmllm proxy: listening on {server.url}, upstream {args.upstream}, sessions in "
          f"{where}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
