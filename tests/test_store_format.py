"""Stores written by earlier releases: migrated on open, or refused naming both versions.

``tests/data/store-v1`` is a store in the format of vmllm 0.1.0 as released (format 1: content
hashes with a wrong FNV offset basis, vector snapshots named without the store's id).
``tests/data/store-v2`` was written by the release before spaces (format 2: documents only; a
page released compressed, one pinned)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import vmllm
from vmllm.errors import StorageError

FIXTURE = Path(__file__).resolve().parent / "data" / "store-v1"
FIXTURE_V2 = Path(__file__).resolve().parent / "data" / "store-v2"
GUIDE = ("# Circuit breakers\n\nA circuit breaker opens after repeated failures and stops calls to"
         " a failing service.\n\n# Retries\n\nRetries use exponential backoff with jitter so that"
         " clients do not stampede.\n")


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "store"))


def format_version(store: Path) -> str:
    with sqlite3.connect(store / "store.db") as db:
        return db.execute("SELECT value FROM meta WHERE name='format_version'").fetchone()[0]


def test_a_format_1_store_is_migrated_and_every_page_comes_back(old_store, caplog):
    assert format_version(old_store) == "1"
    with caplog.at_level("WARNING", logger="vmllm"):
        with vmllm.VirtualMemory(old_store, l1_tokens=400, page_tokens=100) as vm:
            assert sorted(vm.page_table) == ["guide.md::chunk_0000", "zoo.txt::chunk_0000"]
            # A page-in checks each copy against the stored content hash: after the migration the
            # hashes are right, so the pages come back (not "no longer in the store").
            assert vm.request_page("guide.md::chunk_0000", full=True) == GUIDE
            assert vm.request_page("zoo.txt::chunk_0000").startswith("The giraffe")
            assert vm.semantic_find("giraffe", n=1, mode="vector") == ["zoo.txt::chunk_0000"]
            assert vm.semantic_find("exponential backoff", n=1) == ["guide.md::chunk_0000"]
    assert format_version(old_store) == "3"
    assert any("migrated from format version 1 to 3" in r.getMessage() for r in caplog.records)
    assert not list((old_store / "vectors").glob("index-d196717921bae54f-2.hnsw"))  # Old name.
    with vmllm.VirtualMemory(old_store) as vm:  # Reopens without migrating again.
        assert vm.read_page("zoo.txt::chunk_0000").startswith("The giraffe")


def test_a_store_of_a_newer_format_is_refused_naming_both_versions(old_store):
    with sqlite3.connect(old_store / "store.db") as db:
        db.execute("UPDATE meta SET value='99' WHERE name='format_version'")
    with pytest.raises(StorageError, match="format version 99; this vmllm reads version 3"):
        vmllm.VirtualMemory(old_store)
    assert format_version(old_store) == "99"  # Untouched.


def test_a_store_that_lost_its_format_version_is_rehashed_not_trusted(old_store):
    with sqlite3.connect(old_store / "store.db") as db:
        db.execute("DELETE FROM meta")
    with vmllm.VirtualMemory(old_store, l1_tokens=400, page_tokens=100) as vm:
        assert vm.request_page("guide.md::chunk_0000") == GUIDE  # Hash checks pass.
    assert format_version(old_store) == "3"


def test_a_format_2_store_joins_the_document_space_with_its_summaries(tmp_path, caplog):
    store = Path(shutil.copytree(FIXTURE_V2, tmp_path / "store"))
    assert format_version(store) == "2"
    with caplog.at_level("WARNING", logger="vmllm"):
        with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as vm:
            assert sorted(vm.page_table) == ["guide.md::chunk_0000", "zoo.txt::chunk_0000"]
            assert vm.page_table["guide.md::chunk_0000"].compressed  # Its summary survived.
            assert vm.request_page("guide.md::chunk_0000", full=True) == GUIDE
            assert vm.semantic_find("giraffe", n=1) == ["zoo.txt::chunk_0000"]
            assert vm.stats()["total_pages"] == 2
    assert format_version(store) == "3"
    assert any("migrated from format version 2 to 3" in r.getMessage() for r in caplog.records)
    with sqlite3.connect(store / "store.db") as db:
        assert db.execute("SELECT DISTINCT space FROM pages").fetchall() == [("doc",)]
