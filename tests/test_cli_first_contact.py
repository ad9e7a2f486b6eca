"""Issue 12, first contact with the command line: one-line errors, help, --version, document ids
that cannot collide, file types, ls / rm, and --json."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vmllm
from vmllm.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str],
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vmllm", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit code 2, nothing on stdout, and exactly one ``vmllm: ...`` line on stderr."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmllm: "), result.stderr
    assert result.stdout == ""
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def pyproject_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# --- errors ----------------------------------------------------------------------------------

UPSTREAM = ["--upstream", "http://127.0.0.1:9"]


@pytest.mark.parametrize("args, option", [
    (["proxy", *UPSTREAM, "--s-min", "-5"], "--s-min"),
    (["proxy", *UPSTREAM, "--window-tokens", "-1"], "--window-tokens"),
    (["proxy", *UPSTREAM, "--port", "99999"], "--port"),
    (["proxy", *UPSTREAM, "--tau", "0"], "--tau"),
    (["proxy", *UPSTREAM, "--s-min", str(10**30)], "--s-min"),
    (["demo", "--mb", "-1"], "--mb"),
    (["demo", "--mb", "nan"], "--mb"),
    (["demo", "--l1-tokens", "0"], "--l1-tokens"),
    (["demo", "--l2-bytes", str(2**70)], "--l2-bytes"),
    (["ingest", "x", "--store", "s", "--page-tokens", "-3"], "--page-tokens"),
    (["find", "q", "--store", "s", "-n", "0"], "-n"),
    (["find", "q", "--store", "s", "-n", "ten"], "-n"),
    (["replay", "t.json", "--l1-tokens", str(10**30)], "--l1-tokens"),
    (["replay", "t.json", "--s-min", "-1"], "--s-min"),
])
def test_out_of_range_numbers_are_one_line_errors_not_tracebacks(tmp_path, python_env, args,
                                                                 option):
    line = assert_one_line_error(run(*args, env=python_env, cwd=tmp_path), option)
    assert "must be" in line
    assert not (tmp_path / "s").exists()  # Refused before a store was opened.


@pytest.mark.parametrize("args, needle", [
    ([], "required: COMMAND"),
    (["frobnicate"], "invalid choice"),
    (["stats"], "--store"),
    (["find", "q", "--store", "s", "--colour"], "--colour"),
    (["demo", "--policy", "fifo-ish"], "--policy"),
])
def test_usage_errors_are_one_line(tmp_path, python_env, args, needle):
    assert_one_line_error(run(*args, env=python_env, cwd=tmp_path), needle)


def test_errors_from_the_core_and_the_filesystem_are_one_line(tmp_path, python_env):
    assert_one_line_error(run("proxy", "--upstream", "ftp://example.com", env=python_env),
                          "upstream must be an http(s) URL")
    assert_one_line_error(run("ingest", str(tmp_path / "nope"), "--store", str(tmp_path / "s"),
                              env=python_env), "no such file or directory")
    assert_one_line_error(run("stats", "--store", str(tmp_path / "none"), env=python_env),
                          "no vmllm store")
    (tmp_path / "a.txt").write_text("hello")
    store = str(tmp_path / "s")
    assert run("ingest", str(tmp_path / "a.txt"), "--store", store, env=python_env).returncode == 0
    assert_one_line_error(run("page", "gone::chunk_0000", "--store", store, env=python_env), "gone")
    # page_tokens above l1_tokens: refused by the core (InvalidArgumentError).
    assert_one_line_error(run("demo", "--l1-tokens", "100", "--page-tokens", "200",
                              env=python_env), "page_tokens")


# --- version and help ------------------------------------------------------------------------

def test_version_is_the_package_version(python_env):
    result = run("--version", env=python_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"vmllm {pyproject_version()}\n"
    assert vmllm.__version__ == pyproject_version()


def test_top_level_help_lists_every_command_in_plain_text(python_env):
    result = run("--help", env=python_env)
    assert result.returncode == 0
    names = subcommands()
    assert {"demo", "ingest", "ls", "rm", "find", "page", "stats", "replay", "proxy"} <= set(names)
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("    ") and line.split()}
    assert set(names) <= listed, result.stdout
    assert "`" not in result.stdout and "--version" in result.stdout


def test_every_command_and_option_has_help():
    for name, parser in subcommands().items():
        assert parser.description or name in {"ls", "find", "page", "stats", "replay"}
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"vmllm {name} {action.option_strings or action.dest}: no help"
    top = build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    assert all(choice.help for choice in sub._choices_actions)


def test_ingest_help_states_how_ids_are_formed(python_env):
    out = run("ingest", "--help", env=python_env).stdout
    assert "langchain_core/__init__.py" in out and "langchain/__init__.py" in out
    assert "--ext" in out and ".MD" in out


# --- ingest: ids, collisions, file types -----------------------------------------------------

def make_package(root: Path, name: str, files: dict[str, str]) -> Path:
    pkg = root / name
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return pkg


def ls_json(store: str, env: dict[str, str]) -> dict[str, dict[str, int]]:
    result = run("ls", "--store", store, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {d.pop("doc_id"): d for d in json.loads(result.stdout)}


def test_files_of_two_directories_keep_separate_ids(tmp_path, python_env):
    core = make_package(tmp_path, "langchain_core", {"__init__.py": "CORE = 1\n",
                                                     "docs/a.md": "# Core docs\n"})
    lc = make_package(tmp_path, "langchain", {"__init__.py": "LANGCHAIN = 2\n"})
    single = tmp_path / "notes.txt"
    single.write_text("loose notes\n")
    store = str(tmp_path / "store")
    result = run("ingest", str(core), str(lc), str(single), "--store", store, env=python_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 files")
    docs = ls_json(store, python_env)
    assert set(docs) == {"langchain_core/__init__.py", "langchain_core/docs/a.md",
                         "langchain/__init__.py", "notes.txt"}
    assert all(d["pages"] == 1 for d in docs.values())
    page = run("page", "langchain_core/__init__.py::chunk_0000", "--store", store, env=python_env)
    assert page.stdout == "CORE = 1\n"


def test_current_directory_is_named_after_itself(tmp_path, python_env):
    pkg = make_package(tmp_path, "proj", {"README.md": "# Proj\n"})
    store = str(tmp_path / "store")
    assert run("ingest", ".", "--store", store, env=python_env, cwd=pkg).returncode == 0
    assert set(ls_json(store, python_env)) == {"proj/README.md"}


def test_two_files_that_would_share_an_id_are_refused_before_anything_is_stored(
        tmp_path, python_env):
    a = make_package(tmp_path / "a", "pkg", {"x.py": "A = 1\n"})
    b = make_package(tmp_path / "b", "pkg", {"x.py": "B = 2\n"})
    store = tmp_path / "store"
    line = assert_one_line_error(run("ingest", str(a), str(b), "--store", str(store),
                                     env=python_env), "'pkg/x.py'")
    assert str(a / "x.py") in line and str(b / "x.py") in line
    assert not store.exists()
    # The same directory twice is the same files: no conflict, stored once.
    assert run("ingest", str(a), str(a), "--store", str(store), env=python_env).returncode == 0
    assert set(ls_json(str(store), python_env)) == {"pkg/x.py"}


def test_file_types_are_case_insensitive_and_skipped_ones_are_summarised(tmp_path, python_env):
    docs = make_package(tmp_path, "docs", {
        "GUIDE.MD": "# Guide\n", "notes.txt": "notes\n", "a.json": "{}\n", "b.json": "[]\n",
        "c.yaml": "k: v\n", "LICENSE": "MIT\n", ".git/config": "[core]\n",
        "__pycache__/m.cpython-311.pyc": "x"})
    store = str(tmp_path / "store")
    result = run("ingest", str(docs), "--store", store, env=python_env)
    assert result.returncode == 0, result.stderr
    assert set(ls_json(store, python_env)) == {"docs/GUIDE.MD", "docs/notes.txt"}
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("skipped 4 files of other types: .json 2, (none) 1, .yaml 1"), summary
    assert "--ext .json --ext .yaml" in summary

    result = run("ingest", str(docs), "--store", store, "--ext", ".JSON", "--ext", "yaml",
                 env=python_env)
    assert result.returncode == 0, result.stderr
    assert set(ls_json(store, python_env)) == {"docs/GUIDE.MD", "docs/notes.txt", "docs/a.json",
                                               "docs/b.json", "docs/c.yaml"}
    assert "skipped 1 file of another type: (none) 1" in result.stdout

    only = str(tmp_path / "only")
    result = run("ingest", str(docs), "--store", only, "--ext", ".yaml", "--no-default-ext",
                 env=python_env)
    assert result.returncode == 0, result.stderr
    assert set(ls_json(only, python_env)) == {"docs/c.yaml"}


def test_a_directory_with_nothing_to_ingest_is_an_error(tmp_path, python_env):
    data = make_package(tmp_path, "data", {"a.json": "{}\n"})
    store = tmp_path / "store"
    assert_one_line_error(run("ingest", str(data), "--store", str(store), env=python_env),
                          "no files to ingest", ".json 1", "--ext .json")
    assert not store.exists()


def test_a_file_that_cannot_be_ingested_is_reported_and_the_rest_stored(tmp_path, python_env):
    docs = make_package(tmp_path, "docs", {"good.md": "# Good\n"})
    (docs / "latin1.txt").write_bytes(b"caf\xe9\n")  # Not UTF-8.
    (docs / "dangling.md").symlink_to(tmp_path / "missing.md")
    store = str(tmp_path / "store")
    result = run("ingest", str(docs), "--store", store, env=python_env)
    assert result.returncode == 1  # It ran, but not everything made it.
    assert "not ingested: " + str(docs / "latin1.txt") in result.stderr
    assert result.stderr.splitlines()[-1] == "vmllm: 1 file was not ingested (see above)"
    assert "Traceback" not in result.stderr
    assert "skipped 1 file of another type: (not a file) 1" in result.stdout
    assert set(ls_json(store, python_env)) == {"docs/good.md"}


# --- ls, rm, --json ---------------------------------------------------------------------------

@pytest.fixture
def two_docs(tmp_path: Path, python_env: dict[str, str]) -> str:
    pkg = make_package(tmp_path, "kb", {
        "breaker.md": "# Circuit breaker\n\nPyBreaker trips after 5 failures.\n",
        "retry.md": "# Retry\n\nRetries use exponential backoff with jitter.\n"})
    store = str(tmp_path / "store")
    result = run("ingest", str(pkg), "--store", store, env=python_env)
    assert result.returncode == 0, result.stderr
    return store


def test_ls_lists_documents_with_page_counts(two_docs, python_env):
    result = run("ls", "--store", two_docs, env=python_env)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["pages", "tokens", "bytes", "document"]
    assert [r.split()[0] + " " + r.split()[-1] for r in rows[1:3]] == ["1 kb/breaker.md",
                                                                        "1 kb/retry.md"]
    assert rows[-1] == "2 documents, 2 pages"
    docs = ls_json(two_docs, python_env)
    assert docs["kb/retry.md"]["pages"] == 1 and docs["kb/retry.md"]["bytes"] > 40
    filtered = run("ls", "kb/b", "--store", two_docs, "--json", env=python_env)
    assert [d["doc_id"] for d in json.loads(filtered.stdout)] == ["kb/breaker.md"]


def test_rm_removes_every_page_of_a_document_for_good(two_docs, python_env):
    result = run("rm", "kb/breaker.md", "--store", two_docs, env=python_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "removed kb/breaker.md (1 page)\n"
    assert set(ls_json(two_docs, python_env)) == {"kb/retry.md"}
    find = run("find", "PyBreaker failures", "--store", two_docs, "--mode", "keyword", "--json",
               env=python_env)
    assert json.loads(find.stdout) == []
    assert_one_line_error(run("page", "kb/breaker.md::chunk_0000", "--store", two_docs,
                              env=python_env), "kb/breaker.md")
    # Reopened through the API: gone from the page table and from both indexes.
    with vmllm.VirtualMemory(two_docs) as vm:
        assert list(vm.page_table) == ["kb/retry.md::chunk_0000"]
        hits = vm.search("PyBreaker circuit breaker", n=5, mode="vector")
        assert [page_id for page_id, _ in hits] == ["kb/retry.md::chunk_0000"]
        assert vm.stats()["total_pages"] == 1


def test_rm_with_an_unknown_id_removes_nothing(two_docs, python_env):
    assert_one_line_error(run("rm", "kb/retry.md", "kb/nope.md", "--store", two_docs,
                              env=python_env), "'kb/nope.md'", "vmllm ls")
    assert set(ls_json(two_docs, python_env)) == {"kb/breaker.md", "kb/retry.md"}


def test_find_json_gives_scored_hits(two_docs, python_env):
    result = run("find", "PyBreaker failures", "--store", two_docs, "-n", "1", "--json",
                 env=python_env)
    assert result.returncode == 0, result.stderr
    [hit] = json.loads(result.stdout)
    assert hit["page_id"] == "kb/breaker.md::chunk_0000"
    assert hit["doc_id"] == "kb/breaker.md" and hit["chunk_index"] == 0
    assert isinstance(hit["score"], float) and "PyBreaker" in hit["preview"]
