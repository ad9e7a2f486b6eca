"""The Python face of ConversationMemory: queue management, tools, persistence, sharing."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import vmllm
from vmllm import _core
from vmllm.tokenizers import get_tokenizer

WORDS = ("river cloud lantern harbor pepper meadow copper violet engine garden orbit canvas "
         "stone maple quartz ember").split()


def chatter(i: int, n: int = 30) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)) + f" (turn {i})."


def rendered_tokens(message: dict[str, Any]) -> int:
    """A message's cost computed independently: its compact, key-sorted JSON, counted with the
    default tokenizer (exact cl100k_base, as for VirtualMemory)."""
    text = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return int(_core.message_tokens(text, get_tokenizer("cl100k_base")))


def assert_no_orphans(messages: list[dict[str, Any]]) -> None:
    calls: set[str] = set()
    answered: set[str] = set()
    for m in messages:
        if m["role"] == "tool":
            assert m["tool_call_id"] in calls, f"orphaned tool result {m}"
            answered.add(m["tool_call_id"])
        for c in m.get("tool_calls") or []:
            calls.add(c["id"])
    assert calls == answered, f"calls without results: {calls - answered}"


def call(call_id: str, name: str, **args: Any) -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}


def test_messages_are_system_with_blocks_then_the_queue() -> None:
    with vmllm.ConversationMemory(window_tokens=2000, system="Be brief.",
                                  blocks=[vmllm.MemoryBlock("human", "Name: Ada", limit=100,
                                                            description="the user")],
                                  tokenizer=_core.approx_tokenizer()) as memory:
        memory.append({"role": "user", "content": "Hello!"})
        messages = memory.messages()
        assert [m["role"] for m in messages] == ["system", "user"]
        assert messages[0]["content"].startswith("Be brief.")
        assert "Name: Ada" in messages[0]["content"]
        assert "<human>" in messages[0]["content"]
        assert memory.blocks["human"].value == "Name: Ada"
        assert memory.blocks["human"].block_id == "default/human"


def test_window_is_never_exceeded_and_tool_calls_stay_whole() -> None:
    window = 900
    with vmllm.ConversationMemory(window_tokens=window, system="You remember things.",
                                  blocks={"human": ""}) as memory:
        for i in range(150):
            memory.append({"role": "user", "content": chatter(i)})
            if i % 4 == 0:
                c = call(f"c{i}", "conversation_search", query=WORDS[i % len(WORDS)])
                memory.append({"role": "assistant", "content": None, "tool_calls": [c]})
                result = memory.execute(c)
                assert result.ok and result.appended
            memory.append({"role": "assistant", "content": chatter(i + 1, 12)})
            messages = memory.messages()
            cost = sum(rendered_tokens(m) for m in messages)
            assert cost == memory.context_tokens() <= window
            assert_no_orphans(messages)
        stats = memory.stats()
        assert stats["flushes"] >= 3
        assert stats["recall_messages"] > stats["queue_messages"]


def test_pressure_warning_comes_before_the_flush() -> None:
    with vmllm.ConversationMemory(window_tokens=1000) as memory:
        warned_at = flushed_at = None
        for i in range(100):
            before = memory.context_tokens()
            outcome = memory.append({"role": "user", "content": chatter(i, 20)})
            if outcome["warned"]:
                warned_at = i
                assert before < 700 <= memory.context_tokens()
                assert "Memory pressure warning" in memory.messages()[-1]["content"]
            if outcome["flushed"]:
                flushed_at = i
                assert memory.context_tokens() <= 500
                break
        assert warned_at is not None and flushed_at is not None and warned_at < flushed_at
        assert memory.messages()[0]["content"].startswith("Summary of the earlier conversation")


def test_a_python_compressor_makes_the_recursive_summary() -> None:
    seen: list[str] = []

    def summarise(text: str) -> str:
        seen.append(text)
        return f"SUMMARY-{len(seen)}."

    with vmllm.ConversationMemory(window_tokens=600, compressor=summarise) as memory:
        flushes = 0
        for i in range(200):
            flushes += memory.append({"role": "user", "content": chatter(i, 20)})["flushed"]
            assert memory.context_tokens() <= 600
            if flushes == 2:
                break
        assert len(seen) == 2
        assert seen[0].startswith("user: ")
        assert seen[1].startswith("SUMMARY-1.")  # The previous summary is folded in.
        assert "SUMMARY-2." in memory.messages()[0]["content"]


def test_a_failing_compressor_falls_back_and_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("LLM endpoint down")

    with vmllm.ConversationMemory(window_tokens=600, compressor=broken) as memory:
        for i in range(80):
            memory.append({"role": "user", "content": chatter(i, 20)})
            assert memory.context_tokens() <= 600
        stats = memory.stats()
        assert stats["flushes"] >= 1
        assert stats["compressor_failures"] == stats["flushes"]
    assert "compressor failed" in caplog.text


def test_failing_tool_calls_are_results_for_the_model() -> None:
    blocks = [vmllm.MemoryBlock("persona", "I am calm.", read_only=True),
              {"label": "human", "value": "", "limit": 20}]
    with vmllm.ConversationMemory(window_tokens=3000, blocks=blocks) as memory:
        cases = [
            (call("a", "core_memory_append", label="pet", content="x"), "no memory block"),
            (call("b", "core_memory_append", label="persona", content="x"), "read-only"),
            (call("c", "core_memory_append", label="human", content="x" * 21), "limit is 20"),
            (call("d", "core_memory_replace", label="human", old_content="q", new_content="r"),
             "does not occur"),
            (call("e", "launch", target="moon"), "unknown tool"),
            ({"id": "f", "function": {"name": "archival_memory_search", "arguments": "{oops"}},
             "not valid JSON"),
        ]
        for tool_call, says in cases:
            memory.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})
            result = memory.execute(tool_call)
            assert not result.ok and result.heartbeat and result.appended
            assert result.content["status"] == "Failed"
            assert says in result.content["message"]
            assert result.message == memory.messages()[-1]
        assert memory.blocks["persona"].value == "I am calm."
        assert memory.stats()["tool_errors"] == len(cases)
        memory.append({"role": "user", "content": "Are you still there?"})


def test_tools_edit_blocks_and_search_archival_in_anthropic_form() -> None:
    with vmllm.ConversationMemory(window_tokens=3000, blocks={"human": "Name: Ada"}) as memory:
        names = {t["name"] for t in memory.tools("anthropic")}
        assert names == {t["function"]["name"] for t in memory.tools("openai")}
        assert "conversation_search_date" in names
        use = {"type": "tool_use", "id": "toolu_1", "name": "core_memory_append",
               "input": {"label": "human", "content": "Allergic to peanuts.",
                         "request_heartbeat": True}}
        result = memory.execute(use, append=False)
        assert result.ok and result.heartbeat and not result.appended
        assert memory.blocks["human"].value == "Name: Ada\nAllergic to peanuts."
        memory.archival_insert("The warehouse in Porto opens at 06:30.")
        memory.archival_insert("Invoices are due on the 5th.")
        hits = memory.archival_search("when does the Porto warehouse open")["hits"]
        assert hits[0]["content"] == "The warehouse in Porto opens at 06:30."
        with pytest.raises(vmllm.InvalidArgumentError):
            memory.tools("gemini")


def test_recall_finds_an_evicted_fact_by_words_meaning_and_date() -> None:
    with vmllm.ConversationMemory(window_tokens=700) as memory:
        memory.append({"role": "user", "content": "My locker code is 4417."})
        for i in range(60):
            memory.append({"role": "user", "content": chatter(i, 25)})
        queued = memory.messages()[1:]  # After the summary (there are no system instructions).
        assert not any("4417" in (m.get("content") or "") for m in queued)
        for mode in ("hybrid", "keyword", "vector"):
            page = memory.search_recall("locker code", mode=mode)
            assert "4417" in page["hits"][0]["content"], mode
            assert len(page["hits"]) <= 5
        today = dt.datetime.now(dt.timezone.utc).date()
        by_date = memory.search_recall(start=today, end=today)
        assert by_date["total"] == 61 and by_date["total_pages"] == 13
        assert by_date["hits"][0]["content"] == "My locker code is 4417."
        assert by_date["hits"][0]["message"]["role"] == "user"
        assert memory.search_recall(start=today - dt.timedelta(days=3),
                                    end=today - dt.timedelta(days=1))["total"] == 0


def test_reopening_restores_blocks_queue_summary_recall_and_archival(tmp_path: Path) -> None:
    store = tmp_path / "memory"
    with vmllm.ConversationMemory(store, window_tokens=700, system="Remember.",
                                  blocks={"human": "Name: Ada"}) as memory:
        for i in range(50):
            memory.append({"role": "user", "content": chatter(i, 25)})
        memory.set_block("human", "Name: Ada. Lives in Oslo.")
        memory.archival_insert("The spare key is under the blue pot.")
        before = memory.messages()
        stats = memory.stats()
        assert stats["flushes"] >= 1
    assert (store / "store.db").exists()
    with vmllm.ConversationMemory(store, window_tokens=700) as again:
        assert again.messages() == before
        assert again.blocks["human"].value == "Name: Ada. Lives in Oslo."
        assert again.stats()["recall_messages"] == stats["recall_messages"]
        assert "blue pot" in again.archival_search("spare key")["hits"][0]["content"]
        assert "(turn 0)" in again.search_recall("turn 0", mode="keyword")["hits"][0]["content"]


SHARED_AGENT = """
import json, sys, vmllm
memory = vmllm.ConversationMemory(sys.argv[1], window_tokens=2000, agent_id="agent-b",
                                  blocks=[{"label": "plan", "block_id": "team-plan"}])
c = {"id": "c1", "type": "function", "function": {"name": "core_memory_append",
     "arguments": json.dumps({"label": "plan", "content": "Ship on Friday."})}}
memory.append({"role": "assistant", "content": None, "tool_calls": [c]})
print(json.dumps(memory.execute(c).ok))
memory.close()
"""


def test_two_agents_in_two_processes_share_a_block(tmp_path: Path,
                                                   python_env: dict[str, str]) -> None:
    store = str(tmp_path / "shared")
    team = vmllm.MemoryBlock("plan", "Draft the spec.", limit=500, block_id="team-plan")
    with vmllm.ConversationMemory(store, window_tokens=2000, agent_id="agent-a",
                                  blocks=[team]) as a:
        out = subprocess.run([sys.executable, "-c", SHARED_AGENT, store], env=python_env,
                             capture_output=True, text=True, timeout=120, check=True)
        assert json.loads(out.stdout) is True
        assert a.blocks["plan"].value == "Draft the spec.\nShip on Friday."
        assert "Ship on Friday." in a.messages()[0]["content"]
        assert a.stats()["recall_messages"] == 0  # The other agent's messages are its own.


def test_bad_input_raises_typed_errors_and_keeps_nothing() -> None:
    with vmllm.ConversationMemory(window_tokens=300) as memory:
        # A result for an unknown call is not malformed: it is kept as a note (see
        # test_conversation_memory_pairing.py).
        for bad in ("{", {"role": "robot", "content": "x"}, {"role": "user"},
                    {"role": "tool", "content": "x"}):
            with pytest.raises(vmllm.InvalidArgumentError):
                memory.append(bad)  # type: ignore[arg-type]
        with pytest.raises(vmllm.CapacityError):
            memory.append({"role": "user", "content": chatter(0, 600)})
        with pytest.raises(vmllm.InvalidArgumentError):
            memory.search_recall("x", page=-1)
        with pytest.raises(vmllm.InvalidArgumentError):
            memory.search_recall(start="not a date")
        assert memory.stats()["recall_messages"] == 0
    for kwargs in ({"warn_fraction": 0.0}, {"target_fraction": 1.0}, {"flush_fraction": 1.2},
                   {"compressor": 42}, {"blocks": [{"label": "x", "value": "long", "limit": 2}]}):
        with pytest.raises(vmllm.InvalidArgumentError):
            vmllm.ConversationMemory(**kwargs)


def test_a_temporary_store_is_removed_on_close() -> None:
    memory = vmllm.ConversationMemory()
    path = Path(memory.path)
    assert (path / "store.db").exists()
    memory.close()
    memory.close()
    assert not path.exists()
    with pytest.raises(vmllm.InvalidArgumentError):
        memory.append({"role": "user", "content": "late"})


def test_a_shared_block_grown_by_another_agent_never_overflows_this_window(tmp_path: Path) -> None:
    store = str(tmp_path / "shared")
    shared = {"label": "notes", "value": "", "limit": 1500, "block_id": "team"}
    with vmllm.ConversationMemory(store, window_tokens=1000, agent_id="a", blocks=[shared]) as a, \
            vmllm.ConversationMemory(store, window_tokens=1000, agent_id="b",
                                     blocks=[shared]) as b:
        for i in range(200):
            b.append({"role": "user", "content": chatter(i, 10)})
            if b.context_tokens() > 850:
                break
        assert b.stats()["flushes"] == 0
        a.set_block("notes", "Decision log: " + chatter(1, 160)[:1300])
        messages = b.messages()
        assert b.stats()["flushes"] == 1
        assert "Decision log" in messages[0]["content"]
        assert sum(rendered_tokens(m) for m in messages) == b.context_tokens() <= 1000


def test_threads_may_share_one_memory() -> None:
    import threading

    with vmllm.ConversationMemory(window_tokens=800) as memory:
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                for i in range(150):
                    memory.append({"role": "user", "content": chatter(i, 12)})
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        def reader() -> None:
            try:
                for _ in range(150):
                    memory.search_recall("river cloud")
                    assert memory.context_tokens() <= 800
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=f) for f in (writer, writer, reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert memory.stats()["recall_messages"] == 300 + memory.stats()["warnings"]
