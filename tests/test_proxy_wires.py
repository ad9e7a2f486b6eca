"""The OpenAI Responses API and Anthropic's count_tokens through the proxy.

Paging a Responses body and previewing a count needs the core's ``openai-responses`` wire and
``StreamSession.preview``; those tests are skipped on a core without them. What needs no
paging (requests the proxy must pass through, sessions it must not start) is tested always.
"""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from scripted_upstream import (  # noqa: F401 - upstream is a fixture.
    EAGER, STUB, Upstream, big, reset_after_first_event, upstream)
from vmllm.proxy import PagingProxy

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

@pytest.fixture
def proxy(upstream: Upstream) -> Iterator[PagingProxy]:
    with PagingProxy(upstream.url, port=0, log=io.StringIO(), **EAGER) as p:
        yield p


def responses_input(turns: int = 6) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"role": "user", "content": "fix the bug"}]
    for t in range(turns):
        items.append({"type": "function_call", "call_id": f"call_{t}", "name": "read_file",
                      "arguments": json.dumps({"path": f"src/f{t}.py"})})
        items.append({"type": "function_call_output", "call_id": f"call_{t}",
                      "output": big(f"f{t}")})
    return items


RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-test",
            "status": "completed", "parallel_tool_calls": True, "tool_choice": "auto",
            "tools": [], "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                                     "status": "completed", "content": [
                                         {"type": "output_text", "text": "Fixed.",
                                          "annotations": []}]}]}

TOOLS = [{"type": "function", "name": "read_file", "description": "Read a file.",
          "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]


def client(proxy: PagingProxy) -> Any:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key="k", max_retries=0, timeout=20)


def test_responses_input_is_paged_and_the_answer_unchanged(proxy: PagingProxy,
                                                          upstream: Upstream) -> None:
    upstream.script.append(RESPONSE)
    reply = client(proxy).responses.create(model="gpt-test", input=responses_input(),
                                           tools=TOOLS)
    assert reply.output_text == "Fixed."
    assert upstream.received[-1]["path"] == "/v1/responses"
    seen = upstream.last_text()
    assert len(STUB.findall(seen)) == 2
    assert "f0 line 39" not in seen and "f5 line 39" in seen


def test_a_responses_stream_that_breaks_ends_with_an_error_event(proxy: PagingProxy,
                                                                 upstream: Upstream) -> None:
    created = {"type": "response.created", "sequence_number": 0,
               "response": dict(RESPONSE, status="in_progress", output=[])}
    upstream.script.append(reset_after_first_event(
        b"event: response.created\ndata: " + json.dumps(created).encode() + b"\n\n"))
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=20)
    try:
        conn.request("POST", "/v1/responses", body=json.dumps(
            {"model": "gpt-test", "input": responses_input(), "stream": True}))
        events = conn.getresponse().read().split(b"\n\n")
    finally:
        conn.close()
    assert events[0].startswith(b"event: response.created")
    name, data = events[1].split(b"\n", 1)
    assert name == b"event: error"
    assert "upstream failed mid-stream" in json.loads(data[len(b"data: "):])["message"]
    assert events[2:] == [b""]


def test_a_responses_request_continuing_a_stored_response_goes_through_unchanged(
        proxy: PagingProxy, upstream: Upstream) -> None:
    body = json.dumps({"model": "gpt-test", "previous_response_id": "resp_0",
                       "input": responses_input()}, indent=1).encode()
    upstream.script.append(RESPONSE)
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=20)
    try:
        conn.request("POST", "/v1/responses", body=body,
                     headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert upstream.received[-1]["raw"] == body  # Byte for byte: nothing here to page.
    assert len(proxy.sessions) == 0


def anthropic_messages() -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "fix it"}]
    for t in range(6):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"tu{t}", "name": "Read", "input": {"file_path": f"/f{t}"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"tu{t}", "content": big(f"a{t}")}]})
    return messages


MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
           "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}


def test_count_tokens_never_starts_a_session(proxy: PagingProxy, upstream: Upstream) -> None:
    upstream.script.append({"input_tokens": 4321})
    c = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0, timeout=20)
    counted = c.messages.count_tokens(model="claude-test", messages=anthropic_messages())
    assert counted.input_tokens == 4321
    assert upstream.received[-1]["path"] == "/v1/messages/count_tokens"
    assert upstream.received[-1]["body"]["messages"] == anthropic_messages()  # Unchanged.
    assert len(proxy.sessions) == 0
    assert not [s for s in proxy.sessions.store.spaces() if s.startswith("stream:")]


def test_count_tokens_counts_the_body_the_session_would_send(proxy: PagingProxy,
                                                            upstream: Upstream) -> None:
    c = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0, timeout=20)
    upstream.script.append(MESSAGE)
    c.messages.create(model="claude-test", max_tokens=100, messages=anthropic_messages())
    sent = upstream.received[-1]["body"]
    requests = proxy.sessions.live()[0].stats()["requests"]
    upstream.script.append({"input_tokens": 99})
    assert c.messages.count_tokens(model="claude-test",
                                   messages=anthropic_messages()).input_tokens == 99
    counted = upstream.received[-1]["body"]
    assert len(STUB.findall(json.dumps(counted))) == 2
    assert counted["messages"] == sent["messages"]
    assert proxy.sessions.live()[0].stats()["requests"] == requests  # A preview changes nothing.
