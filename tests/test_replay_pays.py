"""Paging that pays (issue 15): a correct MIN, supersession, the fault monitor, dollars."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmllm import _core
from vmllm.errors import InvalidArgumentError
from vmllm.replay import (format_classes, format_frontier, is_budgeted, load_prices,
                          load_sessions, model_prices, replay, sample_traces, session_cost)

BUDGETED = [p for p in _core.replay_policy_names() if is_budgeted(p)]


def _reads(refs: list[int], writes: frozenset[int] = frozenset()) -> str:
    """An OpenAI body: one read (or write) of file f<n> per turn, results of equal size."""
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for t, r in enumerate(refs):
        tool = "write" if t in writes else "read"
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{t}", "type": "function",
             "function": {"name": tool, "arguments": json.dumps({"path": f"f{r}"})}}]})
        msgs.append({"role": "tool", "tool_call_id": f"c{t}", "content": "x" * 800 + str(t)})
    msgs.append({"role": "assistant", "content": "done"})
    return json.dumps({"messages": msgs})


def _faults(body: str, policy: str, pages: int) -> int:
    r = _core.replay_trace("openai", body, policy, 100 * pages, 4, 0, equal_page_tokens=100,
                           thrash_faults=0)
    return int(r["faults"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=4, max_size=40), st.integers(1, 4))
def test_min_faults_no_more_than_any_policy_with_equal_pages(refs: list[int], pages: int) -> None:
    body = _reads(refs)
    floor = _faults(body, "belady", pages)
    for name in BUDGETED:
        assert floor <= _faults(body, name, pages), name


@pytest.mark.parametrize("budget", [1500, 4000])
def test_min_is_the_floor_on_the_shipped_traces_with_equal_pages(budget: int) -> None:
    report = replay(load_sessions(sample_traces()), BUDGETED, l1_tokens=budget,
                    progress=False, equal_page_tokens=500, thrash_faults=0)
    per = report["policies"]
    for i, s in enumerate(per["belady"]["sessions"]):
        for name in BUDGETED:
            assert s["faults"] <= per[name]["sessions"][i]["faults"], (name, s["session"])
    assert sum(p["total"]["evictions"] for p in per.values()) > 0


def test_unequal_sizes_report_min_as_a_heuristic_and_the_best_per_session() -> None:
    from vmllm.replay import format_table
    report = replay(load_sessions(sample_traces()[1:]), ["lru", "belady"], l1_tokens=2000,
                    progress=False)
    text = format_table(report)
    assert "heuristic bound" in text
    best = report["best_per_session"]
    assert len(best) == 2 and all(b["policy"] in ("lru", "belady") for b in best)
    for b, i in zip(best, range(2)):
        assert b["faults"] == min(report["policies"][n]["sessions"][i]["faults"]
                                  for n in ("lru", "belady"))


def test_re_reading_an_edited_file_is_never_a_fault() -> None:
    body = _reads([0, 1, 0, 2, 3, 0], writes=frozenset({2}))  # Read f0, write f0, read f0.
    for name in ["tau", "lru", "fifo-age", "belady"]:
        r = _core.replay_trace("openai", body, name, 200, 10, 0, equal_page_tokens=100)
        assert r["faults"] == 0, name
        assert r["superseded_evictions"] >= 1, name


def test_the_proxy_stubs_a_superseded_result_before_tau() -> None:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "fix a.py"}]
    calls = [("Read", {"file_path": "/r/a.py"}), ("Edit", {"file_path": "/r/a.py", "old_string": "x"}),
             ("Read", {"file_path": "/r/a.py"})]
    for t, (tool, args) in enumerate(calls):
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{t}", "type": "function",
             "function": {"name": tool, "arguments": json.dumps(args)}}]})
        msgs.append({"role": "tool", "tool_call_id": f"c{t}", "content": f"v{t} " + "line\n" * 300})
    session = _core.StreamSession(tau_turns=50, cache_aware=False)  # No gate: mechanics only.
    out, _ = session.rewrite("openai", json.dumps({"model": "m", "messages": msgs}))
    sent = json.loads(out)["messages"]
    assert sent[2]["content"].startswith("[vmllm: paged out")  # The read the edit made stale.
    assert sent[4]["content"].startswith("v1")                   # Nothing else before τ.
    assert sent[6]["content"].startswith("v2")
    assert session.stats()["faults"] == 0                        # The re-read is not a fault.


def test_the_fault_monitor_keeps_every_session_under_five_percent() -> None:
    cycle = _reads([t % 4 for t in range(40)])
    off = _core.replay_trace("openai", cycle, "lru", 100, 4, 0, equal_page_tokens=100,
                             thrash_faults=0)
    on = _core.replay_trace("openai", cycle, "lru", 100, 4, 0, equal_page_tokens=100)
    assert off["faults"] > 30
    assert on["faults"] * 4 < off["faults"] and on["max_growth_level"] > 0


def test_shipped_prices_follow_the_providers_cache_rules() -> None:
    table = load_prices()
    assert table["default"] in table["models"]
    for name, m in table["models"].items():
        assert m["source"].startswith("https://") and m["date"], name
        if m["provider"] == "anthropic":
            assert m["cache_write"] == pytest.approx(1.25 * m["input"]), name
            assert m["cache_read"] == pytest.approx(0.1 * m["input"]), name
        else:
            assert m["cache_write"] is None and m["cache_read"] < m["input"], name
    with pytest.raises(InvalidArgumentError):
        model_prices(table, "no-such-model")


def test_a_bad_price_table_is_an_invalid_argument(tmp_path: Path) -> None:
    for text in ["{", '{"models": {"m": {"input": "cheap"}}}', '{"models": 3}', "[]"]:
        bad = tmp_path / "p.json"
        bad.write_text(text)
        with pytest.raises(InvalidArgumentError):
            load_prices(bad)


def test_cost_model_reads_the_shared_prefix_and_writes_the_rest() -> None:
    price = {"model": "t", "input": 1.0, "cache_write": 2.0, "cache_read": 0.5, "output": 10.0,
             "min_cached_tokens": 0}
    turns = [
        {"tokens_full": 100, "tokens_paged": 100, "cached_full": 0, "cached_paged": 0,
         "output_tokens": 10, "faults": 0, "fault_tokens": 0},
        {"tokens_full": 300, "tokens_paged": 200, "cached_full": 100, "cached_paged": 50,
         "output_tokens": 10, "faults": 1, "fault_tokens": 40},
    ]
    full, paged = session_cost({"per_turn": turns}, price)
    assert full == pytest.approx((100 * 2 + 100 + 100 * 0.5 + 200 * 2 + 100) / 1e6)
    fault = 200 * 0.5 + 40 * 2 + 40 * 10
    assert paged == pytest.approx((100 * 2 + 100 + 50 * 0.5 + 150 * 2 + 100 + fault) / 1e6)
    openai = dict(price, cache_write=None)
    assert session_cost({"per_turn": turns[:1]}, openai)[0] == pytest.approx((100 + 100) / 1e6)


def test_content_classes_add_up_and_only_tool_results_are_paged() -> None:
    report = replay(load_sessions(sample_traces()[1:]), ["tau"], progress=False)
    total = report["policies"]["tau"]["total"]
    classes = total["classes"]
    assert set(classes) == {"system", "user text", "assistant text", "tool inputs",
                            "tool results", "schemas"}
    assert sum(f for f, _ in classes.values()) == total["tokens_full"]
    assert sum(p for _, p in classes.values()) == total["tokens_paged"]
    assert classes["tool results"][1] < classes["tool results"][0]
    assert all(f == p for c, (f, p) in classes.items() if c != "tool results")
    assert "tool results" in format_classes(report, "tau")


def test_the_default_stream_policy_costs_less_than_no_paging_on_the_shipped_traces() -> None:
    sessions = load_sessions(sample_traces())
    for group in ([s for s in sessions if "tau-bench" in s.name],
                  [s for s in sessions if "tau-bench" not in s.name]):
        report = replay(group, ["default"], progress=False)
        t = report["policies"]["default"]["total"]
        assert t["cost_paged"] < t["cost_full"]
        assert t["fault_rate"] <= 0.01
    assert "default" in format_frontier(report)


def test_cli_reports_dollars_under_a_given_price_table(tmp_path: Path,
                                                        python_env: dict[str, str]) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"cheap": {
        "provider": "openai", "input": 1.0, "cache_write": None, "cache_read": 0.1, "output": 2.0,
        "source": "https://example.invalid", "date": "2026-12-03"}}}))
    trace = str(sample_traces()[1])
    done = subprocess.run(
        [sys.executable, "-m", "vmllm", "replay", trace, "--policy", "lru", "--prices",
         str(prices), "--model", "cheap"],
        capture_output=True, text=True, env=python_env, timeout=120, check=True)
    assert "$ at cheap prices" in done.stdout and "$ saved" in done.stdout
    assert "content classes under lru" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "vmllm", "replay", trace, "--prices", str(prices), "--model", "x"],
        capture_output=True, text=True, env=python_env, timeout=120)
    assert bad.returncode != 0 and "unknown model 'x'" in bad.stderr
