"""A scripted OpenAI/Anthropic-style upstream on 127.0.0.1 for proxy tests, and the chat
histories they send through the proxy."""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

STUB = re.compile(r"paged out (p-[0-9a-f]{16})")
# τ = 4 with eviction as soon as eligible: the stub counts these tests check were written for it
# (the default since issue 15 is τ = 1 behind the cache gate, which pages a short history less).
EAGER: dict[str, Any] = {"tau_turns": 4, "cache_aware": False}


class Upstream:
    """A scripted API on 127.0.0.1: records each request, answers with the next script entry.

    A script entry is a dict (a JSON body), a list of bytes chunks (an SSE stream; between
    chunks the upstream may wait for ``gate`` so a test can prove chunks are relayed live), or
    a callable taking the request handler, to answer in any way at all (raw bytes, a reset).
    Any method is recorded; a body that is not JSON is kept as bytes.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: list[Any] = []
        self.gate = threading.Event()
        self.gate_seen = False
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed: Any = json.loads(body)
                except ValueError:
                    parsed = body
                upstream.received.append({"method": self.command, "path": self.path,
                                          "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": parsed, "raw": body})
                answer = upstream.script.pop(0)
                if callable(answer):
                    answer(self)
                    return
                if isinstance(answer, dict):
                    data = json.dumps(answer).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for i, chunk in enumerate(answer):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        if i == 0:  # Hold the rest until the client has seen the first chunk.
                            upstream.gate_seen = upstream.gate.wait(10)
                    self.wfile.write(b"0\r\n\r\n")
                except ConnectionError:  # The proxy gave up on this stream (a timeout test).
                    self.close_connection = True

            do_GET = do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def last_text(self) -> str:
        return json.dumps(self.received[-1]["body"])


def big(tag: str) -> str:
    return "".join(f"{tag} line {i} of the file\n" for i in range(40))


def openai_history(turns: int = 6) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": "You are a coding agent."},
                                  {"role": "user", "content": "fix the bug"}]
    for t in range(turns):
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"call_{t}", "type": "function",
             "function": {"name": "read_file", "arguments": json.dumps({"path": f"src/f{t}.py"})}}]})
        msgs.append({"role": "tool", "tool_call_id": f"call_{t}", "content": big(f"f{t}")})
    return msgs


def completion(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def reset_after_first_event(first: bytes) -> Any:
    """An upstream that starts a stream, sends one event and then resets the connection."""

    def answer(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
        handler.wfile.flush()
        time.sleep(0.2)
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True

    return answer


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A scripted upstream for one test (import this fixture into a test module)."""
    u = Upstream()
    yield u
    u.server.shutdown()
    u.server.server_close()
