"""A store's session records damaged by hand or by a crash, and hostile document ids: a
session in the store keeps paging, and documents never reach a session's pages."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from scripted_upstream import STUB, openai_history
from vmllm import _core
from vmllm.virtual_memory import VirtualMemory


def body(turns: int) -> str:
    return json.dumps({"model": "m", "messages": openai_history(turns)})


def rewrite(store: Path, turns: int) -> str:
    with VirtualMemory(store) as vm:
        session = _core.StreamSession(pager=vm._engine, session="s1")
        out, _ = session.rewrite("openai", body(turns))
        return out.decode() if isinstance(out, bytes) else out


@pytest.mark.parametrize("version", [-1, 0, 2**63 - 1, 2**62 + 1, "seven", 1.5, None])
def test_a_damaged_record_version_starts_the_session_afresh_and_it_keeps_paging(
        tmp_path: Path, version: object) -> None:
    store = tmp_path / "store"
    assert STUB.search(rewrite(store, 6))
    with sqlite3.connect(store / "store.db") as db:
        if version is None:  # NOT NULL: a row of garbage takes its place instead.
            db.execute("UPDATE space_state SET version = x'00ff'")
        else:
            db.execute("UPDATE space_state SET version = ?", (version,))
    # Before the fix every rewrite lost the compare-and-swap to the damaged row, forever.
    for turns in (7, 8):
        assert STUB.search(rewrite(store, turns))
    with sqlite3.connect(store / "store.db") as db:
        (stored,), = db.execute("SELECT version FROM space_state").fetchall()
    assert isinstance(stored, int) and 1 <= stored <= 3


def test_a_document_id_spelled_like_a_session_page_never_touches_the_page(
        tmp_path: Path) -> None:
    with VirtualMemory(tmp_path / "store") as vm:
        vm._engine.put_pages("stream:s1", [("stream:s1/p-1", "the session's page")])
        vm.ingest("stream:s1/p-1", "a hostile document")
        vm.delete("stream:s1/p-1")
        assert vm._engine.page_ids("stream:s1") == ["stream:s1/p-1"]
        assert vm._engine.read_page("stream:s1/p-1") == "the session's page"
