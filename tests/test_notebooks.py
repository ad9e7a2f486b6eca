"""The notebooks run top to bottom on a real Jupyter kernel (nbclient + ipykernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# jupyter_client and zmq warn about their own deprecations; they are not vmllm's.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            python_env: dict[str, str]) -> list[dict]:
    # The kernel runs in tmp_path and must import the same vmllm as this test.
    monkeypatch.setenv("PYTHONPATH", python_env["PYTHONPATH"])
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any failure
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])]


def test_quickstart_notebook_runs_and_renders_html_and_a_plot(tmp_path, monkeypatch,
                                                              python_env):
    outputs = execute("01_quickstart.ipynb", tmp_path, monkeypatch, python_env)
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("vmllm-page-table" in h for h in html)
    assert any("vmllm-page" in h and "summary" in h for h in html)
    assert any("vmllm-stats" in h for h in html)
    assert any("image/png" in o.get("data", {}) for o in outputs)


def test_langchain_agent_notebook_runs_and_plots_request_tokens(tmp_path, monkeypatch,
                                                                python_env):
    pytest.importorskip("langchain.agents")
    outputs = execute("02_langchain_agent.ipynb", tmp_path, monkeypatch, python_env)
    assert any("image/png" in o.get("data", {}) for o in outputs)
    text = "".join(o.get("text", "") for o in outputs)
    assert "request tokens saved" in text
