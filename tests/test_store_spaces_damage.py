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


def test_a_document_id_spelled_like_a_session_page_never_touches_the_page(
        tmp_path: Path) -> None:
    with VirtualMemory(tmp_path / "store") as vm:
        vm._engine.put_pages("stream:s1", [("stream:s1/p-1", "the session's page")])
        vm.ingest("stream:s1/p-1", "a hostile document")
        vm.delete("stream:s1/p-1")
        assert vm._engine.page_ids("stream:s1") == ["stream:s1/p-1"]
        assert vm._engine.read_page("stream:s1/p-1") == "the session's page"
