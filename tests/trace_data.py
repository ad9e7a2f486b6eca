"""The recorded agent traces that travel with the repository (``data/traces``, MIT)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TRACES = REPO_ROOT / "data" / "traces"


def trace_files() -> list[Path]:
    """The 200 tau-bench sessions' file, then the five SWE-agent sessions."""
    return [TRACES / "tau-bench-gpt-4o-airline.json", *sorted((TRACES / "swe-agent").glob("*.traj"))]
