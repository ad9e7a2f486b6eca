"""Conversation-aware recall (issue 16): a recall hit comes with the turns around it, a page
of hits covers more of the conversation, and the recall benchmark runs on its own smoke data
(no LoCoMo in CI)."""
from __future__ import annotations

import sys
from pathlib import Path

import vmllm

sys.path.insert(0, str(Path(__file__).parent / "bench"))
import retrieval_recall as rr  # noqa: E402


def test_a_recall_hit_comes_with_the_turns_before_and_after_it() -> None:
    with vmllm.ConversationMemory(window_tokens=600, page_size=2) as memory:
        for i in range(30):
            memory.append({"role": "user", "content": f"small talk about the weather, day {i}"})
        memory.append({"role": "user", "content": "Did you ever get a pet?"})
        memory.append({"role": "assistant", "content": "Yes, I adopted a parrot named Kiwi."})
        memory.append({"role": "user", "content": "That is lovely."})
        for i in range(30):
            memory.append({"role": "user", "content": f"more chatter on sports, round {i}"})
        page = memory.search_recall("parrot named Kiwi")
        assert page["hits"][0]["content"] == "Yes, I adopted a parrot named Kiwi."
        context = [c["content"] for c in page["context"]]
        assert "Did you ever get a pet?" in context and "That is lovely." in context
        assert not {h["id"] for h in page["hits"]} & {c["id"] for c in page["context"]}
        # The model sees the same context through the tool.
        result = memory.execute({"id": "c1", "type": "function", "function": {
            "name": "conversation_search", "arguments": '{"query": "parrot named Kiwi"}'}},
            append=False)
        assert "Did you ever get a pet?" in [c["content"] for c in result.content["context"]]


def test_a_page_of_hits_is_not_spent_on_neighbouring_turns() -> None:
    with vmllm.ConversationMemory(window_tokens=400, page_size=2) as memory:
        memory.append({"role": "user", "content": "The lighthouse keeper feeds the gulls."})
        memory.append({"role": "user", "content": "The gulls nest on the lighthouse roof."})
        for i in range(40):
            memory.append({"role": "user", "content": f"filler line number {i} about nothing"})
        memory.append({"role": "user", "content": "A storm hit the lighthouse last night."})
        for i in range(40):
            memory.append({"role": "user", "content": f"more filler, item {i}"})
        page = memory.search_recall("lighthouse gulls")
        hits = [h["content"] for h in page["hits"]]
        # The second gulls line is the first's context already; the storm line is news.
        assert "A storm hit the lighthouse last night." in hits
        shown = hits + [c["content"] for c in page["context"]]
        assert "The gulls nest on the lighthouse roof." in shown
        assert "The lighthouse keeper feeds the gulls." in shown


def test_the_recall_benchmark_finds_distinctive_facts_on_its_smoke_data(capsys) -> None:
    assert rr.main(["--smoke", "--window", "300", "--page-tokens", "50"]) == 0
    out = capsys.readouterr().out
    assert "| document: one fault | pages of 50 tokens" in out
    rows = [line for line in out.splitlines() if line.startswith(("| document", "| conv"))]
    assert len(rows) == 2
    for row in rows:  # Every question of both halves has its evidence in the window.
        cells = row.split("|")
        assert cells[3].strip().startswith("1.000") and cells[4].strip().startswith("1.000"), row
