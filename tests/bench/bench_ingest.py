"""Ingest of the Python standard library, MB/s (benchmark b): vmllm (tokenize, chunk, embed,
index, store durably) vs the seed's stack (tiktoken chunking + chromadb with a local embedding
function) doing the same job."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import vmllm
from _common import Row, Section, cl100k, have
from corpora import PythonHashingEmbedding, chroma_client, stdlib_files

PAGE_TOKENS = 2000


def _vmllm(files: list[tuple[str, str]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with vmllm.VirtualMemory(str(Path(tmp) / "store"), page_tokens=PAGE_TOKENS) as vm:
            for name, text in files:
                vm.ingest(name, text)
            vm.flush()
        return time.perf_counter() - start


def _seed_stack(files: list[tuple[str, str]]) -> float:
    enc = cl100k()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        client = chroma_client(tmp)
        collection = client.create_collection(
            "pages", embedding_function=PythonHashingEmbedding(),  # type: ignore[arg-type]
            metadata={"hnsw:space": "ip"})
        for name, text in files:
            tokens = enc.encode_ordinary(text)
            ids, docs, metas = [], [], []
            for i, first in enumerate(range(0, len(tokens), PAGE_TOKENS)):
                chunk = tokens[first:first + PAGE_TOKENS]
                ids.append(f"{name}::chunk_{i:04d}")
                docs.append(enc.decode(chunk))
                metas.append({"doc_id": name, "chunk_index": i, "token_count": len(chunk)})
            if ids:
                collection.add(ids=ids, documents=docs, metadatas=metas)
        return time.perf_counter() - start


def run(quick: bool) -> Section:
    files = stdlib_files(200_000 if quick else 8_000_000)
    megabytes = sum(len(text.encode()) for _, text in files) / 1e6
    section = Section(f"Ingest of the Python standard library ({len(files)} files, "
                      f"{megabytes:.1f} MB, MB/s)")
    ours = megabytes / _vmllm(files)
    baselines = {}
    if have("chromadb") and cl100k() is not None:
        baselines["tiktoken + chromadb"] = megabytes / _seed_stack(files)
    section.rows.append(Row("ingest", "MB/s", ours, baselines,
                            note=f"pages of at most {PAGE_TOKENS} tokens"))
    section.notes += [
        "vmllm: VirtualMemory.ingest per file (approx tokenizer, chunker, hashing embedder, "
        "hnswlib, SQLite + FTS5, one transaction per file), then flush.",
        "Baseline, as in seed 001: tiktoken cl100k_base cuts fixed 2,000-token slices, chromadb "
        "(PersistentClient) embeds and stores them. chromadb's default embedding model cannot be "
        "downloaded here, so it gets a local feature-hashing embedding function written in "
        "Python (corpora.PythonHashingEmbedding); the seed's per-page JSON page-table rewrite "
        "is left out, which favours the baseline.",
    ]
    if not baselines:
        section.notes.append("chromadb or tiktoken missing: `pip install .[bench]`.")
    return section
