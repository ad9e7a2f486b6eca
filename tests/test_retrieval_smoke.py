"""Short CI version of tests/bench/retrieval_quality.py: distinctive standard-library functions
are found by asking what they do, and their pages hold their definitions."""
from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest

import vmllm

sys.path.insert(0, str(Path(__file__).parent / "bench"))
import retrieval_quality as rq  # noqa: E402

MODULES = ["textwrap", "shlex", "fnmatch", "difflib", "heapq", "bisect", "calendar", "colorsys",
           "glob", "base64", "quopri", "netrc"]
DISTINCTIVE = ["get_close_matches", "find_longest_match", "unified_diff", "context_diff",
               "shorten", "bisect_left", "insort_right", "urlsafe_b64encode", "itermonthdays3",
               "yeardays2calendar", "error_leader", "b85encode", "fnmatch", "diff_bytes"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    root = sysconfig.get_paths()["stdlib"]
    files = [os.path.join(root, m + ".py") for m in MODULES]
    with vmllm.VirtualMemory(str(tmp_path_factory.mktemp("rq") / "s")) as vm:
        defs = {name: page for name, _, page in rq.build(vm, files)}
        yield vm, defs


def test_answer_pages_hold_the_definitions(corpus) -> None:
    vm, defs = corpus
    for name in DISTINCTIVE:
        assert f"def {name}(" in vm.read_page(defs[name]), name


def test_python_pages_are_cut_at_definitions(corpus) -> None:
    vm, defs = corpus
    ids = [pid for pid in vm.page_table if pid.startswith("difflib.py::")]
    starts = [vm.read_page(pid).lstrip("\n").split("\n", 1)[0].lstrip() for pid in ids[1:]]
    at_def = [s for s in starts if s.startswith(("def ", "class ", "@", "async def "))]
    assert len(ids) > 20
    # Functions larger than a page are split between statements; most pages start at a def.
    assert len(at_def) >= 0.5 * len(starts), starts
    assert all(vm.read_page(pid).endswith("\n") for pid in ids[:-1])


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_distinctive_functions_are_found_by_what_they_do(corpus, mode: str) -> None:
    vm, defs = corpus
    missed = []
    for name in DISTINCTIVE:
        hits = vm.semantic_find(f"what does function {name} ({rq.split_name(name)}) do", n=3,
                                mode=mode)
        if defs[name] not in hits:
            missed.append(name)
    assert missed == []


def test_a_module_name_finds_its_file_first(corpus) -> None:
    vm, _ = corpus
    # difflib, glob and others import or mention these modules; the name is the file's.
    for module in MODULES:
        hits = vm.semantic_find(module, n=1)
        assert hits and hits[0].startswith(f"{module}.py::"), (module, hits)
