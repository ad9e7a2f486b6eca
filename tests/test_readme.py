"""The README's Python examples run as written, each in a fresh directory and process (issue 12).

The Quickstart must run; every other ``python`` block runs too unless it is listed in
``NOT_RUN`` with the reason it cannot run here (a network service, an LLM, or a fragment that
continues another example).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# A line that identifies the block -> why it is not run.
NOT_RUN = {
    'l2="redis://localhost:6379/0"': "needs a Redis server, and `ids` from the Quickstart",
    'compressor="openai:gpt-4o-mini"': "needs an OpenAI-compatible server and an API key",
    "vmllm.VirtualMemoryAgent(vm, llm": "a fragment: needs a `vm`, an LLM and another agent",
}


def python_blocks() -> list[tuple[str, str]]:
    """``(heading, code)`` for every fenced ``python`` block, in README order."""
    blocks: list[tuple[str, str]] = []
    heading, fence, code = "", None, []
    for line in README.read_text().splitlines():
        if fence is not None:
            if line.strip() == "```":
                if fence == "python":
                    blocks.append((heading, "\n".join(code) + "\n"))
                fence = None
            else:
                code.append(line)
        elif line.startswith("```"):
            fence, code = line[3:].strip(), []
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
    return blocks


def run_block(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in env.items() if k != "REDIS_URL"}  # The README's default: no Redis.
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def reason_not_run(code: str) -> str | None:
    return next((why for marker, why in NOT_RUN.items() if marker in code), None)


def test_quickstart_runs_as_written(tmp_path, python_env):
    code = "".join(c for heading, c in python_blocks() if heading == "Quickstart")
    assert "vm.ingest(" in code
    result = run_block(code, tmp_path, python_env)
    assert result.returncode == 0, result.stderr
    pages, tier = result.stdout.split()[:2]
    assert int(pages) >= 5 and tier == "L1"  # ids[4] exists and is back in full.
    assert (tmp_path / "store" / "store.db").is_file()


@pytest.mark.parametrize("heading, code", [b for b in python_blocks() if b[0] != "Quickstart"],
                         ids=lambda v: v.split("\n")[0][:40])
def test_other_readme_examples_run_or_say_why_not(tmp_path, python_env, heading, code):
    why = reason_not_run(code)
    if why is not None:
        pytest.skip(f"README, {heading}: {why}")
    result = run_block(code, tmp_path, python_env)
    assert result.returncode == 0, f"README, {heading}:\n{result.stderr}"


def test_every_example_not_run_is_still_in_the_readme():
    codes = [code for _, code in python_blocks()]
    for marker in NOT_RUN:
        assert sum(marker in code for code in codes) == 1, marker
