"""ConversationMemory.messages(format="anthropic"): the Anthropic Messages shape (issue 12).

Whatever sequence was appended (parallel calls, a call closed by vmllm's synthetic result, a
late result stored as a note, a memory-pressure warning), the output must be a valid Messages
request: system apart, roles alternating, every tool_use answered first thing in the next
message, and nothing of the OpenAI messages lost.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import vmllm
from vmllm import ConversationMemory
from vmllm.conversation_memory import _to_anthropic
from vmllm.errors import InvalidArgumentError


def call(call_id: str, name: str, args: dict[str, Any], content: Any = None) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": [
        {"id": call_id, "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}}]}


def parallel(*calls: tuple[str, str, dict[str, Any]], content: Any = None) -> dict[str, Any]:
    message = call(*calls[0], content=content)
    for extra in calls[1:]:
        message["tool_calls"] += call(*extra)["tool_calls"]
    return message


def result(call_id: str, text: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def assert_valid_anthropic(request: dict[str, Any]) -> None:
    """Roles alternate; each tool_use is answered, first thing, by the very next message; each
    tool_result answers a tool_use of the message before; no empty content or text."""
    turns = request["messages"]
    assert all(t["role"] in ("user", "assistant") for t in turns)
    assert all(a["role"] != b["role"] for a, b in zip(turns, turns[1:])), [
        t["role"] for t in turns]
    for i, turn in enumerate(turns):
        assert turn["content"], f"empty message {i}"
        assert all(b.get("text") for b in turn["content"] if b["type"] == "text")
        uses = [b["id"] for b in turn["content"] if b["type"] == "tool_use"]
        if uses and i + 1 < len(turns):
            following = turns[i + 1]["content"]
            leading = [b["tool_use_id"] for b in following[:len(uses)]
                       if b["type"] == "tool_result"]
            assert sorted(leading) == sorted(uses), (uses, following)
        results = [b["tool_use_id"] for b in turn["content"] if b["type"] == "tool_result"]
        if results:
            before = turns[i - 1]["content"] if i else []
            assert set(results) <= {b["id"] for b in before if b["type"] == "tool_use"}


def flatten_openai(messages: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(leading system texts, every other content item in order)."""
    system, items, started = [], [], False
    for m in messages:
        if m["role"] == "system" and not started:
            system.append(m["content"])
            continue
        started = True
        if m["role"] == "tool":
            items.append(("tool_result", m["tool_call_id"], m["content"]))
            continue
        if m.get("content"):
            items.append(("text", m["content"]))
        for c in m.get("tool_calls") or ():
            items.append(("tool_use", c["id"], c["function"]["name"],
                          json.loads(c["function"]["arguments"])))
    return system, items


def flatten_anthropic(request: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    items: list[tuple[Any, ...]] = []
    for turn in request["messages"]:
        for b in turn["content"]:
            if b["type"] == "tool_result":
                items.append(("tool_result", b["tool_use_id"],
                              "".join(c["text"] for c in b.get("content", []))))
            elif b["type"] == "tool_use":
                items.append(("tool_use", b["id"], b["name"], b["input"]))
            else:
                items.append(("text", b["text"]))
    return [request["system"]] if "system" in request else [], items


def test_anthropic_format_alternates_pairs_every_tool_use_and_round_trips_the_content():
    with vmllm.ConversationMemory(window_tokens=3000, system="Be brief.",
                                  blocks={"human": "Name: Ada"}, warn_fraction=0.05) as memory:
        memory.extend([
            {"role": "user", "content": "What is the weather in Oslo and Rome?"},
            parallel(("c1", "weather", {"city": "Oslo"}), ("c2", "weather", {"city": "Rome"}),
                     content="Checking both."),
            result("c1", "Oslo: 4 C, rain"), result("c2", "Rome: 18 C, sun"),
            {"role": "assistant", "content": "Oslo is rainy, Rome is sunny."},
            {"role": "user", "content": "And Paris?"},
            call("c3", "weather", {"city": "Paris", "units": ["C", "F"]}),
            result("c3", "Paris: 11 C, cloudy"),
            {"role": "user", "content": "Thanks!"},
        ])
        openai = memory.messages()
        anthropic = memory.messages(format="anthropic")
    assert any(m["role"] == "system" for m in openai[1:])  # the warning, mid-conversation
    assert anthropic["system"] == openai[0]["content"] and "Name: Ada" in anthropic["system"]
    assert_valid_anthropic(anthropic)
    # Parallel results share one user message; the warning and "Thanks!" are user text.
    roles = [t["role"] for t in anthropic["messages"]]
    assert roles[:3] == ["user", "assistant", "user"]
    assert [b["type"] for b in anthropic["messages"][2]["content"]][:2] == [
        "tool_result", "tool_result"]
    uses = [b for t in anthropic["messages"] for b in t["content"] if b["type"] == "tool_use"]
    assert uses[2]["input"] == {"city": "Paris", "units": ["C", "F"]}
    # Round trip: every text, call and result, in order, nothing added or lost.
    system, items = flatten_openai(openai)
    assert flatten_anthropic(anthropic) == (["\n\n".join(system)], items)


def test_synthetic_results_and_late_results_stay_valid_anthropic():
    with vmllm.ConversationMemory(window_tokens=3000, system="S") as memory:
        memory.append({"role": "user", "content": "Look it up."})
        memory.append(call("lost", "search", {"q": "x"}))
        memory.append({"role": "user", "content": "Are you there?"})  # closes 'lost'
        memory.append(result("lost", "the late result"))              # becomes a user note
        memory.append(parallel(("a", "f", {}), ("b", "g", {"n": 1})))
        memory.append(result("a", "A"))
        memory.append({"role": "assistant", "content": "Moving on."})  # closes 'b'
        openai = memory.messages()
        anthropic = memory.messages(format="anthropic")
    assert_valid_anthropic(anthropic)
    results = {b["tool_use_id"]: b for t in anthropic["messages"] for b in t["content"]
               if b["type"] == "tool_result"}
    assert sorted(results) == ["a", "b", "lost"]
    assert "no result was recorded" in results["lost"]["content"][0]["text"]
    assert any("the late result" in b.get("text", "") for t in anthropic["messages"]
               for b in t["content"] if t["role"] == "user")
    assert flatten_anthropic(anthropic)[1] == flatten_openai(openai)[1]


def test_edge_shapes_convert_to_valid_anthropic_blocks():
    converted = _to_anthropic([
        {"role": "system", "content": "One."}, {"role": "system", "content": "Two."},
        {"role": "user", "content": [
            {"type": "text", "text": "See"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "f", "arguments": "not json"}},
            {"id": "y", "type": "function", "function": {"name": "g", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "x", "content": ""},
        {"role": "user", "content": "after"},   # merged after the results
        {"role": "tool", "tool_call_id": "y", "content": [{"type": "text", "text": "Y"}]},
        {"role": "system", "content": "Careful."},
    ])
    assert converted["system"] == "One.\n\nTwo."
    user, assistant, results = converted["messages"]
    assert user["content"][1] == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": "iVBOR"}}
    assert user["content"][2]["source"] == {"type": "url", "url": "https://example.invalid/a.png"}
    assert assistant["content"] == [
        {"type": "tool_use", "id": "x", "name": "f", "input": {"arguments": "not json"}},
        {"type": "tool_use", "id": "y", "name": "g", "input": {}}]
    assert [b["type"] for b in results["content"]] == ["tool_result", "tool_result", "text",
                                                       "text"]
    assert results["content"][0] == {"type": "tool_result", "tool_use_id": "x"}
    assert [b.get("text") for b in results["content"][2:]] == ["after", "Careful."]
    assert_valid_anthropic(converted)
    assert "system" not in _to_anthropic([{"role": "user", "content": "hi"}])


def test_an_unknown_format_is_an_invalid_argument():
    with vmllm.ConversationMemory(system="S") as memory:
        memory.append({"role": "user", "content": "hi"})
        with pytest.raises(vmllm.InvalidArgumentError, match="format"):
            memory.messages(format="gemini")
        assert memory.messages(format="openai") == memory.messages()


def test_deep_tool_arguments_stay_verbatim_instead_of_breaking_the_anthropic_form():
    deep = '{"k":' * 3000 + "1" + "}" * 3000  # Deeper than Python's json can recurse.
    memory = ConversationMemory(None, window_tokens=200_000)
    memory.append({"role": "user", "content": "go"})
    memory.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": deep}}]})
    memory.append({"role": "tool", "tool_call_id": "c1", "content": "ok"})
    body = memory.messages(format="anthropic")
    uses = [b for m in body["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    assert uses == [{"type": "tool_use", "id": "c1", "name": "f", "input": {"arguments": deep}}]
    memory.close()


def test_messages_as_bytes_that_are_not_utf8_are_invalid_arguments():
    memory = ConversationMemory(None)
    with pytest.raises(InvalidArgumentError, match="not valid UTF-8"):
        memory.append(b'{"role":"user","content":"\xff\xfe"}')
    assert all(m["role"] != "user" for m in memory.messages())  # Nothing was stored.
    memory.close()
