"""Issue 11, item 4: a tool call without its result never bricks a ConversationMemory.

A process that dies between appending an assistant message with ``tool_calls`` and appending
the result used to leave a call that no flush could evict past: every later append raised
``CapacityError``, even after a reopen. Now the next message closes the call with a synthetic
result, a late result becomes a note, and what ``messages()`` hands to a provider stays validly
paired, for OpenAI Chat and for Anthropic Messages.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import vmllm

NO_RESULT = "[vmllm: no result was recorded for this call]"
WORDS = ("river cloud lantern harbor pepper meadow copper violet engine garden orbit canvas "
         "stone maple quartz ember").split()


def chatter(i: int, n: int = 30) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)) + f" (turn {i})."


def weather_call(call_id: str) -> dict[str, Any]:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": call_id, "type": "function",
                            "function": {"name": "get_weather",
                                         "arguments": json.dumps({"city": "Oslo"})}}]}


def assert_openai_pairing(messages: list[dict[str, Any]]) -> None:
    """OpenAI Chat: an assistant message's calls are answered by tool messages right after it,
    each once; no tool message elsewhere. Only the last assistant message may still wait."""
    pending: set[str] = set()
    in_group = False
    for m in messages:
        if m["role"] == "tool":
            assert in_group and m["tool_call_id"] in pending, f"tool result without its call: {m}"
            pending.discard(m["tool_call_id"])
            continue
        assert not pending, f"calls {pending} unanswered before {m}"
        in_group = bool(m.get("tool_calls"))
        pending = {c["id"] for c in m.get("tool_calls") or []}


def to_anthropic(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The usual conversion to Anthropic Messages: system text to the top level, tool calls to
    tool_use blocks, tool messages to tool_result blocks of a user turn, same roles merged."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if m["role"] == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": m["tool_call_id"],
                                     "content": m["content"]}]
        elif m["role"] == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": m["content"]}] if m.get("content") else []
            blocks += [{"type": "tool_use", "id": c["id"], "name": c["function"]["name"],
                        "input": json.loads(c["function"]["arguments"] or "{}")}
                       for c in m.get("tool_calls") or []]
        else:
            role, blocks = "user", [{"type": "text", "text": m["content"]}]
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def assert_anthropic_pairing(messages: list[dict[str, Any]]) -> None:
    """Anthropic Messages: each tool_use is answered by a tool_result in the very next (user)
    turn, before any text of it; a tool_result answers a tool_use of the turn before."""
    turns = to_anthropic(messages)
    for i, turn in enumerate(turns):
        uses = {b["id"] for b in turn["content"] if b["type"] == "tool_use"}
        if turn["role"] == "assistant" and uses and i + 1 < len(turns):
            nxt = turns[i + 1]["content"]
            leading = []
            for b in nxt:
                if b["type"] != "tool_result":
                    break
                leading.append(b["tool_use_id"])
            assert sorted(leading) == sorted(uses), f"tool_use {uses} answered by {leading}"
        if turn["role"] == "user":
            results = [b["tool_use_id"] for b in turn["content"] if b["type"] == "tool_result"]
            before = turns[i - 1]["content"] if i > 0 else []
            called = {b["id"] for b in before if b["type"] == "tool_use"}
            assert set(results) <= called, f"tool_result {results} without its tool_use"


def assert_pairing(memory: vmllm.ConversationMemory) -> None:
    messages = memory.messages()
    assert_openai_pairing(messages)
    assert_anthropic_pairing(messages)


def test_an_unanswered_call_is_closed_and_the_conversation_goes_on(tmp_path: Path) -> None:
    store = tmp_path / "memory"
    with vmllm.ConversationMemory(store, window_tokens=1000) as memory:
        memory.append({"role": "user", "content": "What is the weather in Oslo?"})
        memory.append(weather_call("call_oslo"))
        assert_pairing(memory)  # The call is awaited.
        appended = 0
        for i in range(60):  # About 3000 tokens of user messages: three windows.
            outcome = memory.append({"role": "user", "content": chatter(i)})
            assert outcome["message_id"] > 0
            appended += 1
            assert_pairing(memory)
            assert memory.context_tokens() <= 1000
        stats = memory.stats()
        assert appended == 60
        assert stats["flushes"] >= 2
        assert stats["closed_tool_calls"] == 1
        # Every message once, plus the synthetic result and the warnings.
        assert stats["recall_messages"] == 63 + stats["warnings"]

        late = memory.append({"role": "tool", "tool_call_id": "call_oslo",
                              "content": "Oslo: 4 degrees, rain."})
        assert late["message_id"] > 0
        note = memory.messages()[-1]
        assert note["role"] == "user"
        assert "call_oslo" in note["content"] and "Oslo: 4 degrees, rain." in note["content"]
        assert_pairing(memory)
        assert memory.stats()["late_tool_results"] == 1
        before = memory.messages()

    with vmllm.ConversationMemory(store, window_tokens=1000) as again:
        assert again.messages() == before
        for i in range(60, 80):
            again.append({"role": "user", "content": chatter(i)})
            assert_pairing(again)
        again.append(weather_call("call_bergen"))
        again.append({"role": "tool", "tool_call_id": "call_bergen", "content": "Bergen: 7."})
        assert again.messages()[-1] == {"role": "tool", "tool_call_id": "call_bergen",
                                        "content": "Bergen: 7."}
        assert_pairing(again)
        assert again.stats()["closed_tool_calls"] == 1
        assert again.stats()["late_tool_results"] == 1


def test_an_assistant_message_closes_the_calls_left_open(tmp_path: Path) -> None:
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=4000) as memory:
        memory.append({"role": "user", "content": "Two cities, please."})
        memory.append({"role": "assistant", "content": None, "tool_calls": [
            weather_call("a")["tool_calls"][0], weather_call("b")["tool_calls"][0]]})
        memory.append({"role": "tool", "tool_call_id": "a", "content": "sunny"})
        memory.append(weather_call("c"))  # The model moved on; b never got its result.
        roles = [(m["role"], m.get("tool_call_id"), m.get("content")) for m in memory.messages()]
        assert roles[3] == ("tool", "b", NO_RESULT)
        assert_pairing(memory)
        # A result for a call nobody made is kept as a note; the open call c is closed first.
        memory.append({"role": "tool", "tool_call_id": "ghost", "content": "boo"})
        assert_pairing(memory)
        messages = memory.messages()
        assert messages[-2] == {"role": "tool", "tool_call_id": "c", "content": NO_RESULT}
        assert messages[-1]["role"] == "user" and "ghost" in messages[-1]["content"]
        assert memory.stats()["closed_tool_calls"] == 2
        assert memory.stats()["late_tool_results"] == 1


def test_a_store_bricked_by_the_old_code_is_repaired_on_open(tmp_path: Path) -> None:
    store = tmp_path / "memory"
    vmllm.ConversationMemory(store, window_tokens=1000).close()  # The schema and the agent.
    # The rows the old code wrote for: user, call, users (and a late result it accepted,
    # since the call was still open), then users until every append raised CapacityError.
    old = [{"role": "user", "content": "Book a table."}, weather_call("call_book")]
    old += [{"role": "user", "content": chatter(i)} for i in range(3)]
    old.append({"role": "tool", "tool_call_id": "call_book", "content": "Booked for 8 pm."})
    old += [{"role": "user", "content": chatter(i)} for i in range(3, 20)]
    db = sqlite3.connect(store / "store.db")
    with db:  # Rows without pages: the open puts them into the recall space.
        for m in old:
            text = json.dumps(m, sort_keys=True, separators=(",", ":"))
            content = m["content"] or ""
            db.execute(
                "INSERT INTO messages(agent_id, created, role, kind, tokens, in_queue, json, text)"
                " VALUES('default', 1.7e9, ?, 0, ?, 1, ?, ?)",
                (m["role"], int(vmllm._core.message_tokens(text)), text, content))
    db.close()

    with vmllm.ConversationMemory(store, window_tokens=1000) as memory:
        assert_pairing(memory)
        assert memory.context_tokens() <= 1000
        stats = memory.stats()
        assert stats["closed_tool_calls"] == 1
        assert stats["late_tool_results"] == 1
        assert stats["recall_messages"] == len(old) + 1
        for i in range(20, 70):
            memory.append({"role": "user", "content": chatter(i)})
            assert_pairing(memory)
        hits = memory.search_recall("Booked 8 pm", mode="keyword")["hits"]
        assert "call_book" in hits[0]["content"] and "Booked for 8 pm." in hits[0]["content"]


CALL_THEN_HANG = """
import sys, time, vmllm
memory = vmllm.ConversationMemory(sys.argv[1], window_tokens=1000)
memory.append({"role": "user", "content": "Hello, what can you do?"})
memory.append({"role": "assistant", "content": "I can check the weather."})
call = {"id": "done", "type": "function", "function": {"name": "f", "arguments": "{}"}}
memory.append({"role": "assistant", "content": None, "tool_calls": [call]})
memory.append({"role": "tool", "tool_call_id": "done", "content": "ok"})
memory.append({"role": "user", "content": "And in Oslo?"})
call = {"id": "killed", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}
memory.append({"role": "assistant", "content": None, "tool_calls": [call]})
print("CALLED", flush=True)
time.sleep(120)
"""

CONTINUE = """
import json, sys, vmllm
sys.path.insert(0, sys.argv[2])
from test_conversation_memory_pairing import assert_pairing, chatter
memory = vmllm.ConversationMemory(sys.argv[1], window_tokens=1000)
assert_pairing(memory)
appended = 0
for i in range(50):
    memory.append({"role": "user", "content": chatter(i)})
    assert_pairing(memory)
    assert memory.context_tokens() <= 1000
    appended += 1
print(json.dumps({"appended": appended, **memory.stats()}))
memory.close()
"""


def test_a_process_killed_between_a_call_and_its_result_leaves_a_usable_store(
        tmp_path: Path, python_env: dict[str, str]) -> None:
    store = str(tmp_path / "memory")
    with subprocess.Popen([sys.executable, "-c", CALL_THEN_HANG, store], env=python_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stderr is not None
            line = child.stdout.readline()
            if line.strip() != "CALLED":
                child.kill()
                raise AssertionError(f"the child never made the call: {line!r} "
                                     f"{child.stderr.read()}")
            child.send_signal(signal.SIGKILL)  # Between the call and its result.
            assert child.wait(timeout=60) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
    # Another process opens the store and goes on; a crash there fails this test, not pytest.
    out = subprocess.run([sys.executable, "-c", CONTINUE, store, str(Path(__file__).parent)],
                         env=python_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats["appended"] == 50
    assert stats["closed_tool_calls"] == 1
    assert stats["flushes"] >= 1
    assert stats["context_tokens"] <= 1000
