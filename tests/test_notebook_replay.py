"""notebooks/03_replay.ipynb runs top to bottom on a real kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trace_data import REPO_ROOT, TRACES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_replay_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / "03_replay.ipynb", work)
    monkeypatch.setenv("VMLLM_TRACES", str(TRACES))  # the kernel inherits it
    nb = nbformat.read(work / "03_replay.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert (work / "03_replay_context.png").stat().st_size > 10_000
