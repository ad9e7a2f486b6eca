"""The paging proxy with the official openai and anthropic clients and a scripted upstream."""

from __future__ import annotations

import http.client
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scripted_upstream import (  # noqa: F401 - upstream is a fixture.
    EAGER, STUB, Upstream, big, completion, openai_history, upstream)
from vmllm.proxy import PagingProxy

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

OPENAI_KEY = "sk-test-openai-SECRET-123"
ANTHROPIC_KEY = "sk-ant-test-SECRET-456"
@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[PagingProxy]:
    log = io.StringIO()
    p = PagingProxy(upstream.url, port=0, log=log, **EAGER)
    p.start()
    yield p
    p.shutdown()
    p.server_close()
    assert OPENAI_KEY not in log.getvalue() and ANTHROPIC_KEY not in log.getvalue()


TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                           "parameters": {"type": "object", "properties": {
                                               "path": {"type": "string"}}}}}]


def openai_client(proxy: PagingProxy) -> Any:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=OPENAI_KEY, max_retries=0, timeout=20)


def metric(proxy: PagingProxy, name: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return float(re.search(rf"^vmllm_proxy_{name} (\S+)$", text, re.M).group(1))


def test_openai_upstream_sees_stubs_and_client_answer_is_unchanged(
        proxy: PagingProxy, upstream: Upstream) -> None:
    upstream.script.append(completion("The bug is in f3."))
    reply = openai_client(proxy).chat.completions.create(
        model="gpt-test", messages=openai_history(), tools=TOOLS)
    assert reply.choices[0].message.content == "The bug is in f3."
    seen = upstream.last_text()
    assert len(STUB.findall(seen)) == 2  # Turns 1 and 2 are at least 4 turns old.
    assert "f0 line 39" not in seen and "f5 line 39" in seen
    assert upstream.received[-1]["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert upstream.received[-1]["path"] == "/v1/chat/completions"
    assert metric(proxy, "evictions_total") == 2


def test_openai_stream_is_relayed_chunk_by_chunk(proxy: PagingProxy, upstream: Upstream) -> None:
    words = ["The ", "bug ", "is ", "fixed."]
    chunks = [b"data: " + json.dumps({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}).encode() + b"\n\n"
        for w in words] + [b"data: [DONE]\n\n"]
    upstream.script.append(chunks)
    stream = openai_client(proxy).chat.completions.create(
        model="gpt-test", messages=openai_history(), tools=TOOLS, stream=True)
    got = []
    for event in stream:
        if event.choices and event.choices[0].delta.content:
            got.append(event.choices[0].delta.content)
            upstream.gate.set()  # The first chunk arrived before the upstream finished.
    assert "".join(got) == "The bug is fixed."
    assert upstream.gate_seen
    assert len(STUB.findall(upstream.last_text())) == 2


def test_recall_is_served_from_the_page_store(proxy: PagingProxy, upstream: Upstream) -> None:
    client = openai_client(proxy)
    history = openai_history()
    upstream.script.append(completion("first"))
    client.chat.completions.create(model="gpt-test", messages=history, tools=TOOLS)
    page = STUB.findall(upstream.last_text())[0]
    upstream.script.append(completion(None, [{"id": "r1", "type": "function", "function": {
        "name": "vmllm_recall", "arguments": json.dumps({"page_ids": [page]})}}]))
    upstream.script.append(completion("Now I see f0."))
    history.append({"role": "user", "content": "look at f0 again"})
    reply = client.chat.completions.create(model="gpt-test", messages=history, tools=TOOLS)
    assert reply.choices[0].message.content == "Now I see f0."  # The client never saw the call.
    follow = upstream.received[-1]["body"]["messages"]
    assert "f0 line 39" in json.dumps(follow)  # Restored in place from the store.
    assert follow[-1]["role"] == "tool" and follow[-1]["tool_call_id"] == "r1"
    assert metric(proxy, "recall_faults_total") == 1
    assert metric(proxy, "follow_ups_total") == 1


def test_reissued_tool_call_is_a_fault_and_pins(proxy: PagingProxy, upstream: Upstream) -> None:
    client = openai_client(proxy)
    history = openai_history()
    upstream.script.append(completion("first"))
    client.chat.completions.create(model="gpt-test", messages=history, tools=TOOLS)
    history.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "again", "type": "function",
         "function": {"name": "read_file", "arguments": json.dumps({"path": "src/f0.py"})}}]})
    history.append({"role": "tool", "tool_call_id": "again", "content": big("f0")})
    for t in range(5):  # Age the re-read well past tau: pinned, it stays.
        history.append({"role": "assistant", "content": f"thinking {t}"})
        history.append({"role": "user", "content": "go on"})
    upstream.script.append(completion("second"))
    client.chat.completions.create(model="gpt-test", messages=history, tools=TOOLS)
    assert metric(proxy, "reissue_faults_total") == 1
    assert metric(proxy, "pinned_keys") == 1
    assert upstream.last_text().count("f0 line 39") == 1


def test_anthropic_both_modes(proxy: PagingProxy, upstream: Upstream) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "fix it"}]
    for t in range(6):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"tu{t}", "name": "Read", "input": {"file_path": f"/f{t}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"tu{t}", "content": big(f"a{t}")}]})
    client = anthropic.Anthropic(base_url=proxy.url, api_key=ANTHROPIC_KEY, max_retries=0, timeout=20)
    upstream.script.append({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
                            "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
                            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}})
    reply = client.messages.create(model="claude-test", max_tokens=100, messages=messages)
    assert reply.content[0].text == "Done."
    assert len(STUB.findall(upstream.last_text())) == 2
    sent = upstream.received[-1]["headers"]  # Newer clients send the key as a bearer token.
    assert ANTHROPIC_KEY in (sent.get("x-api-key"), sent.get("authorization", "")[7:])
    events = [
        {"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant",
                                              "model": "claude-test", "content": [], "stop_reason": None,
                                              "stop_sequence": None,
                                              "usage": {"input_tokens": 1, "output_tokens": 0}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Streamed "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "answer."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 2}},
        {"type": "message_stop"}]
    upstream.script.append([f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events])
    upstream.gate.set()
    with client.messages.stream(model="claude-test", max_tokens=100, messages=messages) as stream:
        text = "".join(stream.text_stream)
    assert text == "Streamed answer."
    assert len(STUB.findall(upstream.last_text())) == 2


def test_malformed_body_gets_400_and_the_next_request_works(
        proxy: PagingProxy, upstream: Upstream) -> None:
    port = proxy.server_address[1]
    for bad in [b"{not json", b"[]", b'{"messages": "nope"}', b'{"messages": [{"role": 7}]}']:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/chat/completions", body=bad,
                     headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
        resp = conn.getresponse()
        payload = json.loads(resp.read())
        assert resp.status == 400, bad
        assert "malformed request" in payload["error"]["message"]
        conn.close()
    assert upstream.received == []  # Nothing bad went upstream.
    upstream.script.append(completion("fine"))
    reply = openai_client(proxy).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "fine"
    assert metric(proxy, "bad_requests_total") == 4


def test_health_metrics_and_loopback_default(proxy: PagingProxy) -> None:
    assert proxy.server_address[0] == "127.0.0.1"
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
    conn.request("GET", "/healthz")
    assert conn.getresponse().read() == b"ok\n"
    conn.close()
    assert metric(proxy, "sessions") == 0


def test_unreachable_upstream_is_a_502_not_a_crash() -> None:
    log = io.StringIO()
    p = PagingProxy("http://127.0.0.1:9", port=0, log=log)
    p.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", p.server_address[1], timeout=10)
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"messages": [{"role": "user", "content": "hi"}]}))
        resp = conn.getresponse()
        resp.read()
        conn.close()
        assert resp.status == 502
    finally:
        p.shutdown()
        p.server_close()


def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Sends bytes as they are (no client library to fix them up) and reads the answer."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


@pytest.mark.parametrize("messages", [b'{"a": 1}', b"5", b"null"])
def test_messages_that_are_not_a_list_get_a_400(proxy: PagingProxy, upstream: Upstream,
                                                 messages: bytes) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
    conn.request("POST", "/v1/chat/completions", body=b'{"model": "m", "messages": ' + messages + b"}",
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 400
    assert "'messages' must be an array" in json.loads(resp.read())["error"]["message"]
    conn.close()
    assert upstream.received == []


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1e3"])
def test_a_content_length_that_is_not_a_count_gets_a_400_and_the_connection_closes(
        proxy: PagingProxy, length: bytes) -> None:
    answer = raw_request(proxy.server_address[1],
                         b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         length + b"\r\n\r\n", b'{"messages": []}GET /healthz HTTP/1.1\r\n\r\n')
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400"))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert "Content-Length" in json.loads(body)["error"]["message"]
    assert answer.count(b"HTTP/1.") == 1  # The body was never parsed as a second request.


def test_a_huge_body_on_any_route_gets_a_413_unread(proxy: PagingProxy, upstream: Upstream) -> None:
    answer = raw_request(proxy.server_address[1],
                         b"POST /v1/models HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 1000000000000000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")
    assert upstream.received == []


def test_sessions_never_cross_credentials(proxy: PagingProxy, upstream: Upstream) -> None:
    body = json.dumps({"model": "m", "messages": openai_history()})
    for key in ("Bearer user-one", "Bearer user-two", "Bearer user-one"):
        upstream.script.append(completion("ok"))
        conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
        conn.request("POST", "/v1/chat/completions", body=body,
                     headers={"Content-Type": "application/json", "Authorization": key,
                              "X-Vmllm-Session": "shared-name"})
        assert conn.getresponse().status == 200
        conn.close()
    assert len(proxy.sessions) == 2  # One per key, even under the same session name.
    spaces = [s for s in proxy.sessions.store.spaces() if s.startswith("stream:")]
    assert len(spaces) == 2  # Two spaces in the store, named by hashes, never by the keys.
    assert not any("user-" in s or "shared-name" in s for s in spaces)
