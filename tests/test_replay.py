"""Trace replay on the shared, real agent traces (tau-bench and SWE-agent)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vmllm import _core
from vmllm.errors import InvalidArgumentError
from vmllm.replay import is_budgeted, load_sessions, plot, replay

from trace_data import trace_files

STUB = re.compile(r"\[vmllm: paged out p-[0-9a-f]{16}:[^\]]*\]")


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return replay(load_sessions(trace_files()), l1_tokens=2000, progress=False)


def test_loads_every_shared_session() -> None:
    sessions = load_sessions(trace_files())
    assert len(sessions) == 200 + 5
    tau = [s for s in sessions if "tau-bench" in s.name]
    assert sum(json.loads(s.body)["messages"].__len__() for s in tau) == 5308


def test_belady_is_the_floor_for_faults(report: dict[str, Any]) -> None:
    floor = report["policies"]["belady"]["total"]["faults"]
    for name, p in report["policies"].items():
        if is_budgeted(name):  # The stream policy has no budget; the others share one.
            assert floor <= p["total"]["faults"], name
    assert report["policies"]["fifo-age"]["total"]["faults"] > floor


def test_every_policy_reduces_context_without_exceeding_the_original(report: dict[str, Any]) -> None:
    for name, p in report["policies"].items():
        total = p["total"]
        assert total["evictions"] > 0, name
        assert 0 < total["reduction_tokens"] < 1, name
        assert total["amplification_paged"] < total["amplification_full"], name
        for s in p["sessions"]:
            for turn in s["per_turn"]:
                assert turn["tokens_paged"] <= turn["tokens_full"]
    assert 0 < report["policies"]["tau"]["total"]["structural_waste"] < 1


def test_stubs_are_byte_identical_on_every_later_request() -> None:
    session = next(s for s in load_sessions(trace_files()) if "marshmallow-1867-function" in s.name)
    messages = json.loads(session.body)["messages"]
    stream = _core.StreamSession()
    seen: dict[str, int] = {}
    requests = 0
    for k, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        out, _ = stream.rewrite("openai", json.dumps({"model": "m", "messages": messages[:k]}))
        requests += 1
        stubs = STUB.findall(out.decode())
        for stub in seen:
            assert stub in stubs, "a stub changed or vanished on a later request"
        for stub in stubs:
            seen.setdefault(stub, requests)
    assert len(seen) >= 2
    assert stream.stats()["evictions"] == len(seen)


def test_loads_claude_code_jsonl(tmp_path: Path) -> None:
    lines = [{"type": "user", "message": {"role": "user", "content": "read it"}}]
    for i in range(7):
        lines.append({"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": f"t{i}", "name": "Read", "input": {"file_path": f"/f{i}"}}]}})
        lines.append({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{i}", "content": f"file {i}\n" * 200}]}})
    lines.append({"type": "assistant", "message": {"role": "assistant", "content": "done"}})
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    (session,) = load_sessions([path])
    assert session.wire == "anthropic"
    r = replay([session], ["tau"], progress=False)["policies"]["tau"]["total"]
    assert r["turns"] == 8 and r["evictions"] == 3 and r["reduction_bytes"] > 0


def test_unreadable_traces_and_unknown_policies_are_invalid_arguments(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidArgumentError):
        load_sessions([bad])
    with pytest.raises(InvalidArgumentError):
        replay(load_sessions(trace_files()[1:2]), ["no-such-policy"], progress=False)


def test_cli_prints_json_and_writes_a_plot(tmp_path: Path, python_env: dict[str, str]) -> None:
    png = tmp_path / "ctx.png"
    done = subprocess.run(
        [sys.executable, "-m", "vmllm", "replay", *map(str, trace_files()[1:]), "--policy", "tau",
         "--json", "--plot", str(png)],
        capture_output=True, text=True, env=python_env, timeout=120, check=True)
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["policies"]["tau"]["total"]["sessions"] == 5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_one_line_per_policy(report: dict[str, Any], tmp_path: Path) -> None:
    out = plot(report, tmp_path / "p.png")
    assert out.stat().st_size > 10_000


def test_cache_aware_batching_rewrites_the_prompt_cache_less_often(report: dict[str, Any]) -> None:
    eager = report["policies"]["tau"]["total"]
    batched = report["policies"]["tau-cache"]["total"]
    assert batched["cache_rewrites"] < eager["cache_rewrites"]
    assert batched["cache_rewrite_tokens"] < eager["cache_rewrite_tokens"]
    assert batched["evictions"] <= eager["evictions"]
