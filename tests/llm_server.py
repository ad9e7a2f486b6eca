"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for the LLM client tests.

Each test queues what the next requests get (a JSON reply, an HTTP error with headers, a slow
reply, malformed JSON, a connection reset mid-body, a reply held until an event); once the
script runs out the server answers like OpenAI: chat completions get ``default_summary`` and
embeddings get deterministic bag-of-words vectors (of the requested ``dimensions``, else
DIMENSION). Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

DIMENSION = 32


def word_vector(text: str, dimension: int = DIMENSION) -> list[float]:
    """Bag-of-words hashed into ``dimension`` floats: texts sharing words are close."""
    v = [0.0] * dimension
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        h = int.from_bytes(hashlib.sha1(word.encode()).digest()[:4], "little")
        v[h % dimension] += 1.0 if (h >> 16) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    client_port: int
    started: float
    finished: float = 0.0


@dataclass
class Action:
    """What one request gets. ``kind``: json, raw, reset, hold."""

    kind: str = "json"
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0                      # Seconds before replying (a slow server).
    hold: Optional[threading.Event] = None  # Reply only once this is set.


class ScriptedServer:
    def __init__(self) -> None:
        self.script: deque[Action] = deque()
        self.requests: list[Recorded] = []
        self.default_summary = "SUMMARY from the scripted model"
        self.received = threading.Event()   # Set at each request's arrival.
        self.release = threading.Event()    # Releases slow replies when the test ends.
        self.in_flight = 0
        self.max_in_flight = 0
        self.barrier: Optional[threading.Barrier] = None  # Embedding requests wait here.
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Keep-alive: lets the client reuse connections.
            disable_nagle_algorithm = True  # Headers and body go out in separate writes.

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                server._serve(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 64  # The default 5 drops concurrent connects (a 1 s SYN retry).

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    # --- scripting -------------------------------------------------------------------------

    def then(self, **kwargs: Any) -> "ScriptedServer":
        self.script.append(Action(**kwargs))
        return self

    def paths(self, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    def close(self) -> None:
        self.release.set()
        if self.barrier is not None:
            self.barrier.abort()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- serving ---------------------------------------------------------------------------

    def _default(self, path: str, body: Any) -> Action:
        if path.endswith("/embeddings"):
            inputs = body["input"]
            # Like OpenAI's text-embedding-3 models, honour a requested "dimensions".
            dimension = body.get("dimensions") or DIMENSION
            data = [{"object": "embedding", "index": i, "embedding": word_vector(t, dimension)}
                    for i, t in enumerate(inputs)]
            data.reverse()  # Clients must order by "index", not by position.
            return Action(body={"object": "list", "data": data, "model": body["model"]})
        return Action(body={"id": "chatcmpl-1", "object": "chat.completion",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant",
                                                     "content": self.default_summary}}]})

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length", 0))
        raw = h.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        record = Recorded(h.path, {k.lower(): v for k, v in h.headers.items()}, body,
                          h.client_address[1], time.monotonic())
        with self._lock:
            self.requests.append(record)
            action = self.script.popleft() if self.script else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.received.set()
        try:
            if action is None:
                action = self._default(h.path, body)
            if self.barrier is not None and h.path.endswith("/embeddings"):
                try:
                    self.barrier.wait()
                except threading.BrokenBarrierError:
                    action = Action(status=500, body={"error": {"message": "not concurrent"}})
            if action.hold is not None:
                action.hold.wait(30)
            if action.delay:
                self.release.wait(action.delay)
            self._reply(h, action)
        finally:
            record.finished = time.monotonic()
            with self._lock:
                self.in_flight -= 1

    def _reply(self, h: BaseHTTPRequestHandler, action: Action) -> None:
        if action.kind == "reset":
            # Promise a long body, send a little of it, then reset the connection.
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b'{"choices": [')
            h.wfile.flush()
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        data = action.body if action.kind == "raw" else json.dumps(action.body).encode()
        if isinstance(data, str):
            data = data.encode()
        try:
            h.send_response(action.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in action.headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            h.close_connection = True  # The client gave up (a timeout): nothing to send to.


def chat_reply(content: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def make_server_fixture() -> Callable[[], Any]:
    import pytest

    @pytest.fixture
    def llm_server() -> Any:
        server = ScriptedServer()
        yield server
        server.close()

    return llm_server
