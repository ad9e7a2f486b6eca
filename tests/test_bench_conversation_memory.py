"""Smoke run of the conversation-memory recall benchmark (tests/bench/), small enough for CI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent / "bench" / "conversation_memory_recall.py"


def test_recall_benchmark_runs_and_finds_most_planted_facts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("conversation_memory_recall", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "recall.json"
    assert bench.main(["--lengths", "150", "--seeds", "2", "--window", "2000",
                       "--json", str(out)]) == 0
    assert "| 150 | 10 |" in capsys.readouterr().out
    (row,) = json.loads(out.read_text())
    assert row["flushes_per_conversation"] >= 2     # The facts were pushed out of the window ...
    assert row["window"] < 1.0
    assert row["conversation_search"] >= 0.7        # ... and the memory tools still find them.
    assert row["any"] >= row["sliding_window"]


def test_generated_conversations_plant_each_fact_once_at_its_turn() -> None:
    spec = importlib.util.spec_from_file_location("conversation_memory_recall", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    users, planted = bench.make_conversation(300, seed=7, facts=6)
    assert len(users) == 300 and len(planted) == 6
    for fact in planted:
        assert fact["value"] in users[fact["turn"]]
        assert sum(fact["value"] in u for u in users) == 1


def _locomo_bench():
    spec = importlib.util.spec_from_file_location(
        "locomo_recall", BENCH.parent / "locomo_recall.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_locomo_benchmark_without_the_data_says_so_and_succeeds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _locomo_bench().main(["--locomo", str(tmp_path / "absent.json")]) == 0
    assert "LoCoMo not found" in capsys.readouterr().out


def test_locomo_benchmark_fuses_as_the_library_does() -> None:
    fuse = _locomo_bench().fuse
    # 1 first in BM25's list only, 2 first in the vectors' only: BM25 wins the tie at 1:1 ...
    assert fuse([1], [2], 60, 1) == [1, 2]
    # ... at k = 60 a key both lists hold beats either list's top; ties keep BM25's order.
    assert fuse([1, 3], [2, 3], 60, 1)[0] == 3
    assert fuse([5, 9], [9, 5], 10, 1) == [5, 9]
    assert fuse([1], [2, 1], 10, 3) == [1, 2]
    assert fuse([], [], 10, 3) == []
