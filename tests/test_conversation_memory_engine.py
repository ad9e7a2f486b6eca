"""Conversations on the engine: recall and archival storage are spaces of the store's one
engine, their rows tables of the same store.db.

``tests/data/memory-v1`` holds a memory.db written by the release before (conversation tables
in a file of their own; tests/data/memory-v1/make_fixture.py made it): it is imported into
store.db on open, once."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import vmllm

FIXTURE = Path(__file__).resolve().parent / "data" / "memory-v1"


def contents(page: dict) -> list[str]:
    return [h["content"] for h in page["hits"]]


def test_virtual_memory_and_conversation_memory_share_one_store(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
        memory.append({"role": "user", "content": "The lighthouse keeper feeds the gulls."})
        memory.archival_insert("Gulls steal chips on the pier.")
    with vmllm.VirtualMemory(path, l1_tokens=2000, page_tokens=200) as vm:
        vm.ingest("harbour.md", "The harbour master logs every trawler and its catch.")
        assert vm.spaces() == ["archival:default", "doc", "recall:default"]
        # Documents and conversations share words, never results.
        assert [p for p, _ in vm.search("gulls trawler", n=10)] == ["harbour.md::chunk_0000"]
        with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
            assert contents(memory.search_recall("gulls trawler")) == [
                "The lighthouse keeper feeds the gulls."]
            assert contents(memory.archival_search("gulls trawler")) == [
                "Gulls steal chips on the pier."]
    assert sorted(p.name for p in path.iterdir() if p.suffix == ".db") == ["store.db"]
    with sqlite3.connect(path / "store.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"pages", "agents", "blocks", "agent_blocks", "messages", "passages"} <= tables
    assert not {"messages_fts", "passages_fts"} & tables


def test_two_agents_in_one_store_never_see_each_others_memory(tmp_path: Path) -> None:
    path = tmp_path / "store"
    agents = {"ana": "Ana's locker code is 1111.", "bo/b\n": "Bob's locker code is 2222."}
    for agent, text in agents.items():
        with vmllm.ConversationMemory(path, window_tokens=4000, agent_id=agent) as memory:
            memory.append({"role": "user", "content": text})
            memory.archival_insert(text)
    for agent, text in agents.items():
        with vmllm.ConversationMemory(path, window_tokens=4000, agent_id=agent) as memory:
            for mode in ("hybrid", "keyword", "vector"):
                assert contents(memory.search_recall("locker code", mode=mode)) == [text]
            assert contents(memory.archival_search("locker code")) == [text]
    with vmllm.VirtualMemory(path) as vm:
        assert vm.spaces() == ["archival:ana", "archival:bo%2Fb%0A", "recall:ana",
                               "recall:bo%2Fb%0A"]


def test_a_crash_between_the_rows_and_their_pages_loses_no_search(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
        for i in range(6):
            memory.append({"role": "user", "content": f"Crate {i} holds brass hinges."})
        memory.archival_insert("Brass hinges rust slowly.")
        assert memory.search_recall("brass hinges")["total"] == 6
    # As if the process died after committing the rows, before putting their pages.
    with sqlite3.connect(path / "store.db") as db:
        for space in ("recall:default", "archival:default"):
            db.execute("INSERT INTO pages_fts(pages_fts, rowid, text) "
                       "SELECT 'delete', key, text FROM pages WHERE space = ?", (space,))
            db.execute("DELETE FROM pages WHERE space = ?", (space,))
            db.execute("DELETE FROM space_state WHERE space = ?", (space,))
    with vmllm.VirtualMemory(path) as vm:
        assert vm.spaces() == []
    with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
        for mode in ("hybrid", "keyword", "vector"):
            assert memory.search_recall("brass hinges", mode=mode)["total"] == 6
        assert contents(memory.archival_search("hinges")) == ["Brass hinges rust slowly."]
    with vmllm.VirtualMemory(path) as vm:
        assert vm.spaces() == ["archival:default", "recall:default"]


def test_pages_lost_under_an_intact_watermark_are_put_again_on_open(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
        memory.append({"role": "user", "content": "The kiln fires at dawn."})
    with sqlite3.connect(path / "store.db") as db:
        db.execute("INSERT INTO pages_fts(pages_fts, rowid, text) "
                   "SELECT 'delete', key, text FROM pages WHERE space = 'recall:default'")
        db.execute("DELETE FROM pages WHERE space = 'recall:default'")
    with vmllm.ConversationMemory(path, window_tokens=4000) as memory:
        assert contents(memory.search_recall("kiln")) == ["The kiln fires at dawn."]


@pytest.fixture
def old_memory(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "memory", ignore=shutil.ignore_patterns("*.py")))


def expected_rows() -> dict[str, list]:
    with sqlite3.connect(FIXTURE / "memory.db") as db:
        return {
            "messages": db.execute("SELECT id, agent_id, created, role, kind, in_queue, text "
                                   "FROM messages ORDER BY id").fetchall(),
            "passages": db.execute("SELECT id, agent_id, created, text FROM passages "
                                   "ORDER BY id").fetchall(),
            "agents": db.execute("SELECT agent_id, system, summary, flushes FROM agents "
                                 "ORDER BY agent_id").fetchall(),
            "blocks": db.execute("SELECT block_id, value FROM blocks ORDER BY block_id").fetchall(),
        }


def test_a_memory_db_of_the_release_before_is_imported_once(
        old_memory: Path, caplog: pytest.LogCaptureFixture) -> None:
    want = expected_rows()
    with caplog.at_level("WARNING", logger="vmllm"):
        with vmllm.ConversationMemory(old_memory, window_tokens=600) as memory:
            assert memory.stats()["recall_messages"] == 51
            assert memory.stats()["archival_passages"] == 2
            assert memory.stats()["flushes"] >= 1
            assert {k: b.value for k, b in memory.blocks.items()} == {
                "human": "Name: Ada.", "team": "The team meets on Tuesdays."}
            assert memory.messages()[0]["content"].startswith("You are a careful assistant.")
            assert memory.messages()[1]["content"].startswith("Summary of the earlier")
            # Every searchable message and passage is found, evicted or queued.
            for i in range(24):
                hits = memory.search_recall(f"ladder number {i} teal {i}", mode="keyword")
                assert hits["hits"][0]["content"].startswith(f"Note {i}:"), i
            assert contents(memory.archival_search("greenhouse key"))[0] == \
                "The greenhouse key hangs behind the blue door."
            assert contents(memory.archival_search("quince jam"))[0] == \
                "Quince jam needs three hours on a low flame."
    migrated = [r.getMessage() for r in caplog.records if "memory.db" in r.getMessage()]
    assert len(migrated) == 1 and "migrated" in migrated[0]
    assert not (old_memory / "memory.db").exists()
    assert (old_memory / "memory.db.migrated").exists()
    with sqlite3.connect(old_memory / "store.db") as db:
        got = {
            "messages": db.execute("SELECT id, agent_id, created, role, kind, in_queue, text "
                                   "FROM messages ORDER BY id").fetchall(),
            "passages": db.execute("SELECT id, agent_id, created, text FROM passages "
                                   "ORDER BY id").fetchall(),
            "agents": db.execute("SELECT agent_id, system, summary, flushes FROM agents "
                                 "ORDER BY agent_id").fetchall(),
            "blocks": db.execute("SELECT block_id, value FROM blocks ORDER BY block_id").fetchall(),
        }
    assert got == want  # Ids and timestamps preserved.

    caplog.clear()
    with caplog.at_level("WARNING", logger="vmllm"):
        with vmllm.ConversationMemory(old_memory, window_tokens=4000,
                                      agent_id="agent/two\tx") as memory:
            assert contents(memory.search_recall("bicycle")) == ["My bicycle is a green Gazelle."]
            assert contents(memory.archival_search("bicycle pump")) == [
                "The bicycle pump is in the shed."]
            assert {k: b.value for k, b in memory.blocks.items()} == {
                "team": "The team meets on Tuesdays."}
    assert not [r for r in caplog.records if "memory.db" in r.getMessage()]


def test_a_memory_db_already_imported_is_not_imported_again(old_memory: Path) -> None:
    vmllm.ConversationMemory(old_memory, window_tokens=600).close()
    # As if the open that imported it died before renaming it.
    shutil.copy(FIXTURE / "memory.db", old_memory / "memory.db")
    with vmllm.ConversationMemory(old_memory, window_tokens=600) as memory:
        assert memory.stats()["recall_messages"] == 51
        assert memory.stats()["archival_passages"] == 2
    assert not (old_memory / "memory.db").exists()


def test_a_store_with_conversations_of_its_own_is_not_merged_with_a_memory_db(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "store"
    with vmllm.ConversationMemory(path, window_tokens=600) as memory:
        memory.append({"role": "user", "content": "A conversation of its own."})
    shutil.copy(FIXTURE / "memory.db", path / "memory.db")
    with caplog.at_level("WARNING", logger="vmllm"):
        with vmllm.ConversationMemory(path, window_tokens=600) as memory:
            assert memory.stats()["recall_messages"] == 1
    assert any("not imported" in r.getMessage() for r in caplog.records)
    assert (path / "memory.db").exists()
