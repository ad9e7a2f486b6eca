"""The command line: the README's main job and the store commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import vmllm
from vmllm.cli import main, stdlib_files


def _vmllm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("vmllm")
    cmd = [exe] if exe else [sys.executable, "-m", "vmllm"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=900)


def test_demo_pages_the_stdlib_through_every_tier(tmp_path, python_env):
    result = _vmllm("demo", "--store", str(tmp_path / "demo"), "--mb", "5", env=python_env)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    for needle in ("1. Ingest", "from L4", "from L3", "summary", "full text back intact: True",
                   "Hand-off", "agent B holds", "tier", "evictions"):
        assert needle in out, f"{needle!r} missing from:\n{out}"
    table = {line.split()[0]: line.split()[1:] for line in out.splitlines()
             if line[:2] in ("L1", "L2", "L3", "L4") and line[2:3] == " "}
    assert set(table) == {"L1", "L2", "L3", "L4"}
    mb = sum(p.stat().st_size for p in stdlib_files(5_000_000)) / 1e6
    assert mb >= 5.0


def test_ingest_find_page_and_stats_on_a_store(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "breaker.md").write_text("# Circuit breaker\n\nPyBreaker trips after 5 failures.\n")
    (corpus / "retry.txt").write_text("Retries use exponential backoff with jitter.\n")
    store = str(tmp_path / "store")
    assert main(["ingest", str(corpus), "--store", store]) == 0
    assert main(["find", "PyBreaker failures", "--store", store, "-n", "1"]) == 0
    assert "corpus/breaker.md::chunk_0000" in capsys.readouterr().out
    assert main(["page", "corpus/retry.txt::chunk_0000", "--store", store]) == 0
    assert capsys.readouterr().out == "Retries use exponential backoff with jitter.\n"
    assert main(["stats", "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_pages"] == 2


def test_stats_reports_a_proxy_sessions_space_beside_the_documents(tmp_path, capsys):
    store = str(tmp_path / "store")
    with vmllm.VirtualMemory(store) as vm:
        vm.ingest("guide.md", "A circuit breaker stops calls to a failing service.")
        session = vmllm._core.StreamSession(pager=vm._engine, session="s1")
        messages = [{"role": "user", "content": "go"},
                    {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "c1", "type": "function",
                        "function": {"name": "read_file", "arguments": "{}"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "x" * 600}]
        session.rewrite("openai", json.dumps({"model": "m", "messages": messages}).encode())
    assert main(["stats", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "space doc: 1 pages" in out
    assert "other spaces: stream:s1 (1 pages)" in out
    assert main(["stats", "--store", store, "--space", "stream:s1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_pages"] == 1
    # A mistyped space is an error naming the spaces there are, not a report of zeros.
    assert main(["stats", "--store", store, "--space", "stream:s2"]) == 2
    err = capsys.readouterr().err
    assert "no space 'stream:s2'" in err and "stream:s1" in err


def test_commands_on_a_missing_store_or_page_fail_clearly(tmp_path, capsys):
    assert main(["stats", "--store", str(tmp_path / "nothing")]) == 2
    assert "no vmllm store" in capsys.readouterr().err
    assert not Path(tmp_path / "nothing").exists()
    store = str(tmp_path / "s")
    (tmp_path / "a.txt").write_text("hello")
    assert main(["ingest", str(tmp_path / "a.txt"), "--store", store]) == 0
    assert main(["page", "missing::chunk_0000", "--store", store]) == 2
    assert "missing" in capsys.readouterr().err
