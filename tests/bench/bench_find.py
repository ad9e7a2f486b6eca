"""semantic_find latency at 10k and 100k pages (benchmark c): vmllm vs raw hnswlib and chromadb.

Every system answers the same queries over the same pages. hnswlib gets vmllm's own vectors
(the hashing embedder, through vmllm._core) and the same graph parameters, so the difference is
what vmllm adds around the search; its query time includes embedding the query."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import vmllm
from _common import Row, Section, have, percentile
from corpora import PythonHashingEmbedding, chroma_client, synthetic_pages

QUERIES = 200
K = 5


def _latencies_ms(search: Callable[[str], object], queries: list[str]) -> float:
    search(queries[0])  # Warm up.
    times = []
    for q in queries:
        start = time.perf_counter()
        search(q)
        times.append((time.perf_counter() - start) * 1000)
    return percentile(times, 50)


def _queries(pages: list[str], count: int) -> list[str]:
    # A few words taken from pages spread over the corpus: each query has a true answer.
    step = max(1, len(pages) // count)
    return [" ".join(pages[i].split()[3:9]) for i in range(0, len(pages), step)][:count]


def one_size(count: int, with_chroma: bool) -> list[Row]:
    pages = synthetic_pages(count)
    queries = _queries(pages, QUERIES)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        vm = vmllm.VirtualMemory(str(Path(tmp) / "store"), page_tokens=120)
        per_doc = 100
        for d in range(0, count, per_doc):
            vm.ingest(f"doc{d // per_doc}", "\n\n".join(pages[d:d + per_doc]))
        stored = len(vm.page_table)
        vector = _latencies_ms(lambda q: vm.semantic_find(q, n=K, mode="vector"), queries)
        hybrid = _latencies_ms(lambda q: vm.semantic_find(q, n=K), queries)
        baselines: dict[str, float | None] = {}
        if have("hnswlib"):
            import hnswlib
            import numpy as np

            embedder = vmllm._core.hashing_embedder()
            data = np.array([embedder.embed(p) for p in pages], dtype=np.float32)
            index = hnswlib.Index(space="ip", dim=embedder.dimension)
            index.init_index(max_elements=len(pages), M=16, ef_construction=100)
            index.add_items(data, np.arange(len(pages)))
            index.set_ef(64)
            baselines["hnswlib"] = _latencies_ms(
                lambda q: index.knn_query(np.array([embedder.embed(q)], dtype=np.float32), k=K),
                queries)
        if with_chroma and have("chromadb"):
            client = chroma_client(str(Path(tmp) / "chroma"))
            collection = client.create_collection(
                "pages", embedding_function=PythonHashingEmbedding(),  # type: ignore[arg-type]
                metadata={"hnsw:space": "ip"})
            batch = 5000
            for first in range(0, len(pages), batch):
                collection.add(ids=[str(i) for i in range(first, min(first + batch, len(pages)))],
                               documents=pages[first:first + batch])
            baselines["chromadb"] = _latencies_ms(
                lambda q: collection.query(query_texts=[q], n_results=K), queries)
        vm.close()
    label = f"{stored:,} pages"
    rows.append(Row(f"semantic_find, vector, {label}", "ms (p50)", vector, baselines,
                    higher_is_better=False))
    rows.append(Row(f"semantic_find, hybrid (vector + BM25), {label}", "ms (p50)", hybrid,
                    dict(baselines), higher_is_better=False))
    return rows


def run(quick: bool, sizes: list[int], chroma_max: int) -> Section:
    section = Section("semantic_find latency (milliseconds, median of 200 queries; lower is better)")
    for count in ([500] if quick else sizes):
        section.rows += one_size(count, with_chroma=count <= chroma_max)
    section.notes += [
        "Pages are synthetic ~50-word paragraphs; queries are 6-word spans of pages.",
        "hnswlib: the same vectors (vmllm's hashing embedder), M=16, ef_construction=100, "
        "ef=64, query embedding included. chromadb: PersistentClient with the Python hashing "
        "embedding function (its default model cannot be downloaded here).",
        "vmllm's hybrid mode also runs an FTS5 BM25 query and fuses both lists.",
    ]
    return section
