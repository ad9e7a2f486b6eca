"""Token counting throughput, MB/s, one thread and several (benchmark d): vmllm's tokenizers vs
tiktoken cl100k_base. An exact BPE tokenizer joins with one more line in ``tokenizers()``."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import vmllm
from _common import Row, Section, cl100k
from corpora import stdlib_files

THREADS = 4


def tokenizers() -> dict[str, Callable[[str], int]]:
    """The vmllm tokenizers to measure, by label."""
    found: dict[str, Callable[[str], int]] = {"approx": vmllm._core.approx_tokenizer().count}
    # e.g. found["cl100k_base (exact)"] = vmllm._core.bpe_tokenizer("cl100k_base").count
    return found


def _mb_per_s(count: Callable[[str], int], texts: list[str], threads: int) -> tuple[float, int]:
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    best = float("inf")
    total = 0
    for _ in range(3):
        start = time.perf_counter()
        if threads == 1:
            total = sum(count(t) for t in texts)
        else:
            with ThreadPoolExecutor(threads) as pool:
                total = sum(pool.map(count, texts))
        best = min(best, time.perf_counter() - start)
    return megabytes / best, total


def run(quick: bool) -> Section:
    texts = [text for _, text in stdlib_files(300_000 if quick else 4_000_000)]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    section = Section(f"Token counting ({len(texts)} standard-library files, {megabytes:.1f} MB, "
                      f"MB/s)")
    enc = cl100k()
    reference_total = None
    for threads in (1, THREADS):
        baselines: dict[str, float | None] = {}
        if enc is not None:
            rate, reference_total = _mb_per_s(lambda t: len(enc.encode_ordinary(t)), texts,
                                             threads)
            baselines["tiktoken cl100k_base"] = rate
        for label, count in tokenizers().items():
            rate, total = _mb_per_s(count, texts, threads)
            note = ""
            if reference_total:
                note = f"{total / reference_total:.3f}x tiktoken's count"
            section.rows.append(Row(f"{label}, {threads} thread{'s' if threads > 1 else ''}",
                                    "MB/s", rate, baselines, note=note))
    section.notes += [
        "tiktoken: len(encode_ordinary(text)) with the cl100k_base rank file shipped in the "
        "litellm package (TIKTOKEN_CACHE_DIR), no network. Several threads: a "
        f"ThreadPoolExecutor of {THREADS} over the files; both release the GIL.",
        "The machine has 2 cores, so more than 2 threads cannot scale further.",
    ]
    if enc is None:
        section.notes.append("tiktoken or litellm missing: `pip install .[bench]`.")
    return section
