"""Retrieval quality of semantic_find on the Python standard library (issue 4).

Ingests the standard library's top-level modules (one document per file, doc id = file name,
so the chunker cuts at function and class boundaries), then asks questions whose answer page
is known: for a function or method with a docstring and a name defined only once in the
corpus, the page that holds its `def` line. Two question styles:

* ``name``: "what does function <name> do" (the name split into words as well),
* ``doc``: the first line of the docstring, without the name.

Reports hit@1 and hit@3 for the hashing embedder alone (mode="vector"), BM25 alone
(mode="keyword") and the hybrid.

Usage: PYTHONPATH=python python tests/bench/retrieval_quality.py [--questions 300] [--files 0]
       [--plain] [--page-tokens 2000]
"""
from __future__ import annotations

import argparse
import ast
import glob
import os
import random
import re
import sysconfig
import tempfile
import time
from dataclasses import dataclass

import vmllm

MODES = ("vector", "keyword", "hybrid")


@dataclass
class Question:
    query: str
    style: str
    page_id: str
    name: str


def stdlib_files(limit: int = 0) -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in glob.glob(os.path.join(root, "*.py"))
                   if not os.path.basename(f).startswith(("_", "test")))
    return files[:limit] if limit else files


def definitions(source: str) -> list[tuple[str, int, str]]:
    """(name, 1-based line, docstring first line) of documented functions and methods."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node)
            if doc and not node.name.startswith("__"):
                first = doc.strip().splitlines()[0].strip()
                if len(first.split()) >= 4:
                    out.append((node.name, node.lineno, first))
    return out


def split_name(name: str) -> str:
    return " ".join(w for w in re.split(r"_+|(?<=[a-z])(?=[A-Z])", name) if w)


def page_at(page_ids: list[str], page_bytes: list[int], offset: int) -> str:
    pos = 0
    for pid, n in zip(page_ids, page_bytes):
        if offset < pos + n:
            return pid
        pos += n
    return page_ids[-1]


def build(vm: vmllm.VirtualMemory, files: list[str], plain: bool = False
          ) -> list[tuple[str, str, str]]:
    """Ingests `files`; returns (name, docstring line, answer page id) per definition."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            source = f.read()
        doc_id = os.path.basename(path) + (".txt" if plain else "")
        ids = vm.ingest(doc_id, source)
        if not ids:
            continue
        sizes = [len(vm.read_page(pid).encode()) for pid in ids]
        line_starts = [0]
        for line in source.encode().split(b"\n"):
            line_starts.append(line_starts[-1] + len(line) + 1)
        for name, lineno, first in definitions(source):
            found.setdefault(name, []).append((first, page_at(ids, sizes, line_starts[lineno - 1])))
    return [(name, v[0][0], v[0][1]) for name, v in found.items() if len(v) == 1]


def questions(defs: list[tuple[str, str, str]], count: int) -> list[Question]:
    rng = random.Random(0)
    chosen = rng.sample(defs, min(count, len(defs)))
    out = []
    for name, first, page in chosen:
        out.append(Question(f"what does function {name} ({split_name(name)}) do", "name", page,
                            name))
        out.append(Question(first, "doc", page, name))
    return out


def evaluate(vm: vmllm.VirtualMemory, qs: list[Question]) -> dict[tuple[str, str], tuple[float, float]]:
    results = {}
    for style in ("name", "doc"):
        subset = [q for q in qs if q.style == style]
        for mode in MODES:
            h1 = h3 = 0
            for q in subset:
                hits = vm.semantic_find(q.query, n=3, mode=mode)
                h1 += bool(hits) and hits[0] == q.page_id
                h3 += q.page_id in hits
            results[(style, mode)] = (h1 / len(subset), h3 / len(subset))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--files", type=int, default=0, help="first N modules only (0: all)")
    parser.add_argument("--page-tokens", type=int, default=2000)
    parser.add_argument("--tokenizer", default=None)
    parser.add_argument("--plain", action="store_true",
                        help="ingest as .txt: prose boundaries and page_tokens-sized pages, for "
                             "comparison with the Python-aware chunker")
    args = parser.parse_args()
    files = stdlib_files(args.files)
    with tempfile.TemporaryDirectory() as tmp, vmllm.VirtualMemory(
            os.path.join(tmp, "store"), l1_tokens=max(6000, args.page_tokens),
            page_tokens=args.page_tokens, tokenizer=args.tokenizer) as vm:
        t0 = time.perf_counter()
        defs = build(vm, files, args.plain)
        t1 = time.perf_counter()
        qs = questions(defs, args.questions)
        results = evaluate(vm, qs)
        t2 = time.perf_counter()
        stats = vm.stats()
    print(f"{len(files)} modules, {stats.get('total_pages')} pages, {len(defs)} unique documented "
          f"definitions, {len(qs) // 2} questions per style; ingest {t1 - t0:.1f}s, "
          f"queries {t2 - t1:.1f}s")
    print("| questions | mode | hit@1 | hit@3 |")
    print("|---|---|---|---|")
    for (style, mode), (h1, h3) in results.items():
        label = {"name": '"what does function X do"', "doc": "docstring first line"}[style]
        print(f"| {label} | {mode} | {h1:.3f} | {h3:.3f} |")


if __name__ == "__main__":
    main()
