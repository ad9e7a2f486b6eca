"""Where the shared traces live: ``shared/data`` beside the repository (as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """``<repo>/../shared/data``, or ``$VMLLM_SHARED_DATA`` when set (a worktree elsewhere)."""
    override = os.environ.get("VMLLM_SHARED_DATA")
    path = Path(override) if override else REPO_ROOT.parent / "shared" / "data"
    if not (path / "traces").is_dir():
        raise FileNotFoundError(
            f"shared traces not found at {path}; put shared/ beside the clone or set VMLLM_SHARED_DATA")
    return path


def trace_files() -> list[Path]:
    traces = shared_data() / "traces"
    return [traces / "tau-bench-gpt-4o-airline.json", *sorted((traces / "swe-agent").glob("*.traj"))]
