"""Runs notebooks/04_conversation_memory.ipynb end to end with a real Jupyter kernel.

The notebook asserts its own results (the window is never exceeded, the warning and flushes
happen, an early fact is recalled), so a behaviour that breaks fails this test.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

import vmllm

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_conversation_memory.ipynb"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_conversation_memory_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # The kernel runs in tmp_path: give it the vmllm this test imports, wherever that is.
    package_root = str(Path(vmllm.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # The inline backend draws the plot.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nbformat
        from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "stream")
    assert "pressure warnings at turns [" in outputs
    assert "passport digits still queued: False" in outputs
    errors = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    images = [out for cell in nb.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(images) == 1  # The occupancy plot.
    assert os.listdir(tmp_path) == []  # The notebook's temporary store is gone after close().
