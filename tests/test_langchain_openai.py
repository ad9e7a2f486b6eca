"""A real chat-model client path: LangChain's ``ChatOpenAI`` against the scripted
OpenAI-compatible server in ``llm_server.py``, with vmllm's middleware and tools.

``ScriptedChatModel`` skips everything between the agent and the wire; here the requests go
through langchain-openai's message conversion and the official ``openai`` client over HTTP, so
the test proves that a paged tool result leaves the bytes a provider receives, that its stub is
identical on every later request, and that a recall brings it back through the same path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("langchain.agents")
pytest.importorskip("langchain_openai")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from llm_server import ScriptedServer, make_server_fixture  # noqa: E402
from vmllm import _core  # noqa: E402
from vmllm.integrations.langchain import VirtualMemoryMiddleware  # noqa: E402

llm_server = make_server_fixture()

REPORT = "".join(f"Line {i}: shard {i} holds {i * 37} orders, replica lag {i % 5} ms.\n"
                 for i in range(60))


@tool
def read_report(name: str) -> str:
    """Read a long operations report."""
    return REPORT


def completion(content: str | None = None, tool_call: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """One chat.completion reply in the OpenAI wire format."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_call is not None:
        message["tool_calls"] = [{"id": tool_call["id"], "type": "function", "function": {
            "name": tool_call["name"], "arguments": json.dumps(tool_call["args"])}}]
    return {"id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
            "model": "scripted", "choices": [{
                "index": 0, "message": message,
                "finish_reason": "tool_calls" if tool_call else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def tool_content(body: dict[str, Any], call_id: str) -> str:
    return next(m["content"] for m in body["messages"]
                if m["role"] == "tool" and m["tool_call_id"] == call_id)


def test_chat_openai_agent_pages_a_tool_result_out_and_recalls_it_over_http(
        vm: Any, llm_server: ScriptedServer) -> None:
    page_id = _core.stream_page_id(REPORT)  # pages are named by their content
    for reply in (
        completion(tool_call={"id": "call_read", "name": "read_report", "args": {"name": "ops"}}),
        completion("The report is loaded."),                        # turn 1
        completion("Noted."),                                        # turn 2: now stale
        completion(tool_call={"id": "call_recall", "name": "vmllm_recall",
                              "args": {"page_ids": [page_id]}}),   # turn 3: fault it back
        completion("Shard 42 holds 1554 orders."),
    ):
        llm_server.then(body=reply)
    model = ChatOpenAI(model="scripted", base_url=llm_server.url, api_key="test",
                       max_retries=0, timeout=20)
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ops-desk"}}
    for question in ("Read the ops report.", "Thanks.", "How many orders does shard 42 hold?"):
        state = agent.invoke({"messages": [{"role": "user", "content": question}]}, config)

    bodies = [r.body for r in llm_server.paths("/chat/completions")]
    assert len(bodies) == 5 and not llm_server.script  # every scripted reply was used
    assert {t["function"]["name"] for t in bodies[0]["tools"]} == {"read_report", "vmllm_recall"}
    assert tool_content(bodies[1], "call_read") == REPORT  # fresh: sent in full once
    stubs = [tool_content(b, "call_read") for b in bodies[2:4]]
    assert stubs[0].startswith(f"[vmllm: paged out {page_id}: read_report ops, ")
    assert stubs[0].endswith("bytes. vmllm_recall brings it back.]")
    assert len(set(stubs)) == 1  # byte-identical on the wire, turn after turn
    assert len(json.dumps(bodies[2])) < len(json.dumps(bodies[1])) - len(REPORT) // 2
    # The recall restored the report where it was; its own result is the layer's note.
    assert tool_content(bodies[4], "call_read") == REPORT
    assert tool_content(bodies[4], "call_recall") == (
        f"[vmllm: restored in full where they were: {page_id}]")
    assert state["messages"][-2].content == REPORT  # the tool itself returned the text
    assert state["messages"][-1].content == "Shard 42 holds 1554 orders."
    assert [e["type"] for e in middleware.events] == ["page_out", "fault"]
    assert middleware.session("ops-desk").stats()["recall_faults"] == 1
    assert all(r.headers["authorization"] == "Bearer test" for r in llm_server.requests)
