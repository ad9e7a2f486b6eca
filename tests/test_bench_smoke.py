"""The benchmarks cannot rot: a tiny run of tests/bench/run_all.py must finish and report a
number for vmllm in every table (baselines whose packages are missing show n/a)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN_ALL = Path(__file__).parent / "bench" / "run_all.py"


def test_quick_benchmark_run_reports_every_section(python_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick"],
        env=python_env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = result.stdout
    for title in ("Page table from Python", "Ingest of the Python standard library",
                  "semantic_find latency", "Token counting", "Memory per page-table entry"):
        assert f"### {title}" in report, report
    rows = [line for line in report.splitlines()
            if line.startswith("| ") and not line.startswith("| operation")]
    assert len(rows) >= 8, report
    # Columns: operation, unit, vmllm, then baselines (none when their packages are missing).
    vmllm_cells = [line.strip().strip("|").split("|")[2].strip() for line in rows]
    # Memory's vmllm figure comes from the C++ benchmark, which a quick run may not have.
    measured = [cell for cell in vmllm_cells if cell != "n/a"]
    assert len(measured) >= len(rows) - 1, report
    assert all(float(cell.replace(",", "")) > 0 for cell in measured), report
