"""notebooks/03_replay.ipynb runs top to bottom on a real kernel, from a folder outside the
repository: there it replays the sample of traces shipped inside vmllm."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trace_data import REPO_ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_replay_notebook_executes_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(REPO_ROOT / "notebooks" / "03_replay.ipynb", work)
    monkeypatch.delenv("VMLLM_TRACES", raising=False)  # the kernel inherits the environment
    nb = nbformat.read(work / "03_replay.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "replaying the sample shipped with vmllm" in text
    assert "22 sessions" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert (work / "03_replay_context.png").stat().st_size > 10_000
