"""Stream sessions over the OpenAI Responses format, previews, and the schema rules, through
``_core.StreamSession`` (what the proxy calls)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from scripted_upstream import EAGER
from vmllm import _core
from vmllm.errors import InvalidArgumentError

WIRE = "openai-responses"
READ_FILE = {"type": "function", "name": "read_file", "description": "Read a file.\nLong details.",
             "parameters": {"type": "object",
                            "properties": {"path": {"type": "string", "description": "the path"}}}}
GREP = {"type": "function", "name": "grep", "description": "Search files.",
        "parameters": {"type": "object",
                       "properties": {"pattern": {"type": "string", "description": "regex to find"}}}}


def big(tag: str, lines: int = 40) -> str:
    return "".join(f"{tag} line {i} of the file\n" for i in range(lines))


def reads(turns: int) -> list[dict[str, Any]]:
    """A Responses input: per turn a user message, reasoning, a read_file call and its output."""
    items: list[dict[str, Any]] = []
    for t in range(turns):
        items.append({"type": "message", "role": "user",
                      "content": [{"type": "input_text", "text": f"step {t}"}]})
        items.append({"type": "reasoning", "id": f"rs_{t}", "summary": [],
                      "encrypted_content": f"enc{t}"})
        items.append({"type": "function_call", "id": f"fc_{t}", "call_id": f"call_{t}",
                      "name": "read_file", "arguments": json.dumps({"path": f"src/f{t}.py"})})
        items.append({"type": "function_call_output", "call_id": f"call_{t}",
                      "output": big(f"f{t}")})
    return items


def body(items: list[dict[str, Any]], **extra: Any) -> bytes:
    request = {"model": "gpt-5", "instructions": "You are an agent.", "input": items,
               "tools": [{"type": "web_search"}, READ_FILE, GREP], **extra}
    return json.dumps(request, separators=(",", ":")).encode()


def test_old_outputs_are_stubbed_and_everything_else_goes_up_as_sent() -> None:
    session = _core.StreamSession(**EAGER)
    items = reads(6)
    out, report = session.rewrite(WIRE, body(items))
    sent = json.loads(out)
    outputs = [i["output"] for i in sent["input"] if i.get("type") == "function_call_output"]
    assert [o.startswith("[vmllm: paged out p-") for o in outputs] == [True, True] + [False] * 4
    assert report["stubbed_results"] == 2
    # Items other than the stubbed outputs are unchanged, reasoning included.
    unchanged = [i for i in sent["input"] if i.get("type") != "function_call_output"]
    assert unchanged == [i for i in items if i.get("type") != "function_call_output"]
    # Built-in tools untouched; vmllm_recall appended in the flat shape.
    assert sent["tools"][:3] == [{"type": "web_search"}, READ_FILE, GREP]
    assert sent["tools"][3]["name"] == "vmllm_recall" and sent["tools"][3]["type"] == "function"


def test_follow_up_serves_a_recall_and_returns_the_extended_request() -> None:
    session = _core.StreamSession(**EAGER)
    items = reads(6)
    out, _ = session.rewrite(WIRE, body(items))
    page = json.loads(out)["input"][3]["output"].split()[3].rstrip(":")
    response = {"output": [
        {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": "why"},
        {"type": "function_call", "id": "fc_x", "call_id": "r1", "name": "vmllm_recall",
         "arguments": json.dumps({"page_ids": [page]})}]}
    result = session.follow_up(WIRE, body(items), json.dumps(response))
    assert result is not None
    extended, rewritten = (json.loads(x) for x in result)
    assert extended["input"][-3:-1] == response["output"]
    assert extended["input"][-1]["call_id"] == "r1"
    assert rewritten["input"][3]["output"] == big("f0")  # Restored in place.
    assert session.stats()["recall_faults"] == 1


def test_preview_is_the_next_rewrite_and_changes_nothing() -> None:
    session = _core.StreamSession(**EAGER)
    session.rewrite(WIRE, body(reads(6)))
    later = body(reads(7))
    stats = session.stats()
    preview = session.preview(WIRE, later)
    assert isinstance(preview, bytes)
    assert session.stats() == stats
    assert session.preview(WIRE, later) == preview
    assert session.rewrite(WIRE, later)[0] == preview
    assert session.stats()["requests"] == stats["requests"] + 1


def test_preview_releases_the_gil() -> None:
    session = _core.StreamSession(**EAGER)
    request = body(reads(40))
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(session.preview(WIRE, request)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 4


def test_schemas_go_up_whole_until_idle_then_the_tool_choice_one_stays() -> None:
    session = _core.StreamSession(schema_idle_turns=2, **EAGER)
    schemas = lambda out: {t["name"]: t for t in json.loads(out)["tools"] if "name" in t}
    first, _ = session.rewrite(WIRE, body(reads(3)))
    assert schemas(first)["grep"] == GREP  # Seen for the first time: whole.
    later, report = session.rewrite(WIRE, body(reads(6)))
    assert schemas(later)["grep"]["parameters"] == {"type": "object", "properties": {}}
    assert schemas(later)["read_file"] == READ_FILE  # Called every turn.
    assert report["stubbed_schemas"] == 1
    forced, _ = session.rewrite(WIRE, body(reads(6), tool_choice={"type": "function", "name": "grep"}))
    assert schemas(forced)["grep"] == GREP


def test_bad_input_is_refused_cleanly() -> None:
    session = _core.StreamSession(**EAGER)
    for bad in (b"{", b'{"input":[]}', b'{"input":[{"type":"function_call_output"}]}', b"[]"):
        with pytest.raises(InvalidArgumentError):
            session.rewrite(WIRE, bad)
        with pytest.raises(InvalidArgumentError):
            session.preview(WIRE, bad)
    with pytest.raises(InvalidArgumentError):
        session.preview("gemini", b"{}")
    with pytest.raises(InvalidArgumentError):
        _core.StreamSession(schema_idle_turns=-1)
    assert session.stats()["requests"] == 0


def test_replay_and_tool_schemas_speak_responses() -> None:
    result = _core.replay_trace(WIRE, body(reads(6)))
    assert result["turns"] == 6 and result["evictions"] > 0
    tools = json.loads(_core.tool_schemas("stream", WIRE))
    assert [t["name"] for t in tools] == ["vmllm_recall", "vmllm_release", "vmllm_compact"]
    assert all(t["type"] == "function" and t["strict"] is False for t in tools)
