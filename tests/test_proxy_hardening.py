"""The proxy against hostile or broken peers: every attack from issue 14 as a regression test.

Each one gets a clean answer (a 4xx/5xx JSON error, or the wire format's error event inside a
stream), the connection stays in step (or is closed when it cannot be), and nothing reaches the
upstream that the configuration did not send there.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import logging
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from scripted_upstream import (  # noqa: F401 - upstream is a fixture.
    EAGER, STUB, Upstream, completion, openai_history, reset_after_first_event, upstream)
from vmllm.proxy import PagingProxy, ProxyLimits

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def proxy(upstream: Upstream, log: io.StringIO) -> Iterator[PagingProxy]:
    limits = ProxyLimits(header_timeout=0.5, body_timeout=0.5, max_body_bytes=200_000,
                         upstream_read_timeout=2.0)
    with PagingProxy(upstream.url, port=0, log=log, limits=limits, **EAGER) as p:
        yield p


def history_body() -> bytes:
    return json.dumps({"model": "m", "messages": openai_history()}).encode()


def read_until_closed(s: socket.socket, limit_s: float = 10.0) -> bytes:
    s.settimeout(limit_s)
    chunks = []
    while True:
        data = s.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


_OPEN: list[http.client.HTTPConnection] = []


def connect(proxy: PagingProxy) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
    _OPEN.append(conn)
    return conn


@pytest.fixture(autouse=True)
def close_connections() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def test_slowloris_headers_are_cut_off_and_the_proxy_keeps_serving(proxy: PagingProxy) -> None:
    port = proxy.server_address[1]
    trickling = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    silent = socket.create_connection(("127.0.0.1", port))
    for s in trickling:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    closed = set()
    for _ in range(40):  # One header byte per socket every 0.1 s: never a whole header.
        for i, s in enumerate(trickling):
            try:
                s.sendall(b"X")
            except OSError:
                closed.add(i)
        time.sleep(0.1)
    for i, s in enumerate(trickling):
        s.settimeout(5)
        try:
            if s.recv(100) == b"":
                closed.add(i)
        except OSError:
            closed.add(i)
        s.close()
    assert closed == set(range(20))
    assert read_until_closed(silent) == b""  # A connection that never says anything is closed.
    silent.close()
    conn = connect(proxy)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"


def test_a_slow_body_gets_a_408_and_the_connection_closes(proxy: PagingProxy,
                                                         upstream: Upstream) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server_address[1])) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                  b'{"model"')
        answer = read_until_closed(s)
    assert answer.startswith(b"HTTP/1.1 408")
    assert "not received within" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["message"]
    assert upstream.received == []


def chunked(body: bytes, size: int = 1000) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
             for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def test_a_chunked_body_is_paged_and_the_connection_stays_in_step(
        proxy: PagingProxy, upstream: Upstream) -> None:
    upstream.script.append(completion("chunked ok"))
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + chunked(history_body()) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        answer = read_until_closed(s)
    assert answer.count(b"HTTP/1.1 200") == 2  # The answer, then /healthz: no desync.
    assert b"chunked ok" in answer and answer.endswith(b"ok\n")
    assert len(STUB.findall(upstream.last_text())) == 2
    assert "transfer-encoding" not in upstream.received[-1]["headers"]


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress)])
def test_a_compressed_body_is_decoded_paged_and_forwarded_identity_encoded(
        proxy: PagingProxy, upstream: Upstream, encoding: str, encode: Any) -> None:
    upstream.script.append(completion("decoded"))
    conn = connect(proxy)
    conn.request("POST", "/v1/chat/completions", body=encode(history_body()),
                 headers={"Content-Encoding": encoding, "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and b"decoded" in resp.read()
    assert len(STUB.findall(upstream.last_text())) == 2
    assert "content-encoding" not in upstream.received[-1]["headers"]


def test_a_compressed_body_over_the_limit_once_decoded_gets_a_413(
        proxy: PagingProxy, upstream: Upstream) -> None:
    bomb = gzip.compress(b'{"messages": ["' + b"0" * 5_000_000 + b'"]}')
    assert len(bomb) < 200_000
    conn = connect(proxy)
    conn.request("POST", "/v1/chat/completions", body=bomb, headers={"Content-Encoding": "gzip"})
    resp = conn.getresponse()
    assert resp.status == 413
    assert "limit of 200000 bytes" in json.loads(resp.read())["error"]["message"]
    assert upstream.received == []


def test_a_chunked_body_over_the_limit_gets_a_413(proxy: PagingProxy, upstream: Upstream) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as s:
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + chunked(b"x" * 300_000)[:250_000])
        answer = read_until_closed(s)
    assert answer.startswith(b"HTTP/1.1 413")
    assert upstream.received == []


def test_an_unknown_content_encoding_gets_a_415(proxy: PagingProxy, upstream: Upstream) -> None:
    conn = connect(proxy)
    conn.request("POST", "/v1/chat/completions", body=b"\x1f\x9d...",
                 headers={"Content-Encoding": "compress"})
    assert conn.getresponse().status == 415
    assert upstream.received == []


@pytest.mark.parametrize("request_line", [
    b"GET http://169.254.169.254/latest/meta-data HTTP/1.1",
    b"POST http://127.0.0.1:1/v1/chat/completions HTTP/1.1",
    b"CONNECT 169.254.169.254:80 HTTP/1.1",
    b"GET //169.254.169.254/latest HTTP/1.1",
    b"OPTIONS * HTTP/1.1"])
def test_a_target_that_names_a_host_gets_a_400_and_goes_nowhere(
        proxy: PagingProxy, upstream: Upstream, request_line: bytes) -> None:
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as s:
        s.sendall(request_line + b"\r\nHost: 169.254.169.254\r\nContent-Length: 0\r\n\r\n")
        answer = read_until_closed(s)
    assert answer.startswith(b"HTTP/1.1 400")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert "upstream comes from the proxy's configuration" in body["error"]["message"]
    assert upstream.received == []


@pytest.mark.parametrize("body, message", [
    (b'{"messages": 5}', "'messages' must be an array"),
    (b"{not json", "malformed request"),
    (b'{"model": "m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
    (b"\xff\xfe", "malformed request")])
def test_a_bad_body_gets_a_400_in_the_wire_format_and_the_connection_is_reused(
        proxy: PagingProxy, upstream: Upstream, body: bytes, message: str) -> None:
    conn = connect(proxy)
    for path, shape in [("/v1/messages", "anthropic"), ("/v1/chat/completions", "openai")]:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        answer = json.loads(resp.read())
        assert resp.status == 400
        assert message in answer["error"]["message"]
        assert ("type" in answer) == (shape == "anthropic")  # {"type": "error", ...} or {"error"}
    conn.request("GET", "/healthz")  # Same connection: still in step.
    assert conn.getresponse().read() == b"ok\n"
    assert upstream.received == []


def test_a_non_http_upstream_reply_is_a_502(proxy: PagingProxy, upstream: Upstream) -> None:
    def garbage(handler: Any) -> None:
        handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        handler.close_connection = True

    upstream.script.append(garbage)
    conn = connect(proxy)
    conn.request("POST", "/v1/chat/completions", body=history_body())
    resp = conn.getresponse()
    assert resp.status == 502
    assert "upstream unreachable" in json.loads(resp.read())["error"]["message"]
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"


OPENAI_CHUNK = b"data: " + json.dumps({
    "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
    "choices": [{"index": 0, "delta": {"content": "Half "}, "finish_reason": None}]}).encode() + b"\n\n"


def test_an_upstream_reset_mid_stream_ends_an_openai_stream_with_an_error_event(
        proxy: PagingProxy, upstream: Upstream) -> None:
    upstream.script.append(reset_after_first_event(OPENAI_CHUNK))
    client = openai.OpenAI(base_url=proxy.url + "/v1", api_key="k", max_retries=0, timeout=20)
    got = []
    with pytest.raises(openai.APIError, match="upstream failed mid-stream"):
        for event in client.chat.completions.create(model="m", messages=openai_history(),
                                                    stream=True):
            got.append(event.choices[0].delta.content)
    assert got == ["Half "]
    # On the wire: the event, a JSON error event, and the chunked stream's clean end.
    upstream.script.append(reset_after_first_event(OPENAI_CHUNK))
    conn = connect(proxy)
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps({"model": "m", "messages": openai_history(), "stream": True}))
    resp = conn.getresponse()
    events = resp.read().split(b"\n\n")  # No IncompleteRead: the stream ended cleanly.
    assert events[0] + b"\n\n" == OPENAI_CHUNK
    assert "upstream failed" in json.loads(events[1][len(b"data: "):])["error"]["message"]
    assert events[2:] == [b""]


def test_an_upstream_reset_mid_stream_ends_an_anthropic_stream_with_an_error_event(
        proxy: PagingProxy, upstream: Upstream) -> None:
    start = {"type": "message_start", "message": {
        "id": "msg", "type": "message", "role": "assistant", "model": "c", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 0}}}
    # Cut inside an event: the error event still starts on an event boundary.
    first = b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\nevent: ping\n"
    upstream.script.append(reset_after_first_event(first))
    client = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0, timeout=20)
    with pytest.raises(anthropic.APIError, match="upstream failed mid-stream"):
        with client.messages.stream(model="c", max_tokens=10,
                                    messages=[{"role": "user", "content": "hi"}]) as stream:
            for _ in stream:
                pass


def test_a_silent_upstream_times_out_between_bytes(proxy: PagingProxy, upstream: Upstream) -> None:
    upstream.script.append([OPENAI_CHUNK, b"data: [DONE]\n\n"])  # Waits on the gate after one.
    try:
        conn = connect(proxy)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": "m", "messages": openai_history(), "stream": True}))
        events = conn.getresponse().read().split(b"\n\n")
        assert events[0] + b"\n\n" == OPENAI_CHUNK
        assert "TimeoutError" in json.loads(events[1][len(b"data: "):])["error"]["message"]
    finally:
        upstream.gate.set()


def test_query_values_never_reach_the_log(proxy: PagingProxy, upstream: Upstream,
                                          log: io.StringIO) -> None:
    upstream.script.append({"data": []})
    conn = connect(proxy)
    conn.request("GET", "/v1/models?key=AIzaSECRET123&alt=json",
                 headers={"Authorization": "Bearer sk-HEADER-SECRET"})
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read()) == {"data": []}
    assert upstream.received[-1]["path"] == "/v1/models?key=AIzaSECRET123&alt=json"
    for _ in range(100):  # The line is written once the answer's last byte has gone.
        if log.getvalue():
            break
        time.sleep(0.05)
    text = log.getvalue()
    assert "/v1/models?key=<redacted>&alt=<redacted>" in text
    assert "SECRET" not in text


def test_two_keys_with_the_same_opening_get_separate_sessions(
        proxy: PagingProxy, upstream: Upstream) -> None:
    for key in ("Bearer user-one", "Bearer user-two"):
        upstream.script.append(completion("ok"))
        conn = connect(proxy)
        conn.request("POST", "/v1/chat/completions", body=history_body(),
                     headers={"Authorization": key})
        assert conn.getresponse().status == 200
    for key in ("key-three", "key-four"):  # Anthropic's header names the key too.
        upstream.script.append({"type": "message", "content": []})
        conn = connect(proxy)
        conn.request("POST", "/v1/messages", body=json.dumps(
            {"model": "c", "messages": [{"role": "user", "content": "same"}]}),
            headers={"x-api-key": key})
        assert conn.getresponse().status == 200
    assert len(proxy.sessions) == 4


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_the_upstream_url_may_end_in_v1(upstream: Upstream, suffix: str) -> None:
    with PagingProxy(upstream.url + suffix, port=0, log=io.StringIO(), **EAGER) as p:
        upstream.script.append(completion("ok"))
        client = openai.OpenAI(base_url=p.url + "/v1", api_key="k", max_retries=0, timeout=20)
        client.chat.completions.create(model="m", messages=openai_history())
        upstream.script.append(completion("ok"))
        # A client whose base URL lacks /v1 is paged the same way.
        client = openai.OpenAI(base_url=p.url, api_key="k", max_retries=0, timeout=20)
        client.chat.completions.create(model="m", messages=openai_history())
    assert [r["path"] for r in upstream.received] == ["/v1/chat/completions"] * 2
    assert all(len(STUB.findall(json.dumps(r["body"]))) == 2 for r in upstream.received)


def test_an_upstream_path_prefix_is_kept(upstream: Upstream) -> None:
    with PagingProxy(upstream.url + "/api/v1", port=0, log=io.StringIO()) as p:
        upstream.script.append(completion("ok"))
        conn = connect(p)
        conn.request("POST", "/v1/chat/completions?api-version=2", body=history_body())
        assert conn.getresponse().status == 200
    assert upstream.received[-1]["path"] == "/api/v1/chat/completions?api-version=2"


def test_other_routes_pass_through_unchanged_with_one_warning(
        proxy: PagingProxy, upstream: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"input": "embed me", "model": "e"}'
    for _ in range(2):
        upstream.script.append({"object": "list"})
        conn = connect(proxy)
        with caplog.at_level(logging.WARNING, logger="vmllm"):
            conn.request("POST", "/v1/embeddings?x=1", body=body,
                         headers={"X-Custom": "kept", "Connection": "keep-alive, X-Hop",
                                  "X-Hop": "dropped"})
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read()) == {"object": "list"}
    sent = upstream.received[-1]
    assert sent["method"] == "POST" and sent["path"] == "/v1/embeddings?x=1"
    assert sent["raw"] == body
    assert sent["headers"]["x-custom"] == "kept" and "x-hop" not in sent["headers"]
    warnings = [r for r in caplog.records if "passed through unpaged" in r.getMessage()]
    assert len(warnings) == 1 and "/v1/embeddings" in warnings[0].getMessage()


def test_shutdown_lets_a_stream_in_flight_finish(upstream: Upstream) -> None:
    p = PagingProxy(upstream.url, port=0, log=io.StringIO()).start()
    upstream.script.append([OPENAI_CHUNK, b"data: [DONE]\n\n"])
    conn = connect(p)
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps({"model": "m", "messages": openai_history(), "stream": True}))
    resp = conn.getresponse()
    assert resp.read1(65536).startswith(b"data: ")  # Under way.
    stopping = threading.Thread(target=p.shutdown)
    stopping.start()
    stopping.join(0.3)
    assert stopping.is_alive()  # Waits for the stream...
    upstream.gate.set()
    assert resp.read().endswith(b"data: [DONE]\n\n")  # ...which ends whole.
    stopping.join(10)
    assert not stopping.is_alive()
    p.server_close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.server_address[1]), timeout=2)


def test_expect_100_continue_is_answered_before_the_body(proxy: PagingProxy,
                                                         upstream: Upstream) -> None:
    upstream.script.append(completion("continued"))
    body = history_body()
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        answer = read_until_closed(s)
    assert answer.startswith(b"HTTP/1.1 200") and b"continued" in answer


def test_a_header_too_long_is_refused_without_quoting_it(proxy: PagingProxy,
                                                         log: io.StringIO,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="vmllm"):
        with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=10) as s:
            s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-LONG-SECRET"
                      + b"x" * 9000 + b"\r\n\r\n")
            answer = read_until_closed(s)
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400"))
    assert b"SECRET" not in answer
    assert "SECRET" not in caplog.text and "SECRET" not in log.getvalue()


def test_a_body_that_is_not_gzip_gets_a_400(proxy: PagingProxy, upstream: Upstream) -> None:
    conn = connect(proxy)
    conn.request("POST", "/v1/messages", body=b"not gzip at all",
                 headers={"Content-Encoding": "gzip"})
    resp = conn.getresponse()
    assert resp.status == 400
    assert "could not be read" in json.loads(resp.read())["error"]["message"]
    assert upstream.received == []
