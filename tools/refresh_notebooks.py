"""Executes every notebook in notebooks/ and saves it with its outputs, so the notebooks read on
GitHub show what they do. CI executes them again (tests/test_notebook*.py); run this after a
change that alters their output:

    .venv/bin/python tools/refresh_notebooks.py [NAME.ipynb ...]

Each runs in a temporary folder (nothing it writes lands in the repository); the replay notebook
is pointed at the full traces in data/traces.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]


def refresh(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as work:
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": work}}).execute()
    for cell in notebook.cells:  # Timings would make every refresh a diff.
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(notebook, path)
    print(f"refreshed {path.relative_to(ROOT)}")


def main(names: list[str]) -> None:
    os.environ["VMLLM_TRACES"] = str(ROOT / "data" / "traces")
    paths = [ROOT / "notebooks" / n for n in names] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        refresh(path)


if __name__ == "__main__":
    main(sys.argv[1:])
