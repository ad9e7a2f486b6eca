"""Token-counting throughput of vmllm's exact BPE tokenizers against tiktoken (issue 4).

Counts every .py file of the standard library (about 31 MB) with vmllm's `count` and with
`len(tiktoken.encode_ordinary(...))`, on one thread and on several (both release the GIL), and
reports MB/s and the ratio. Checks the counts agree before timing.

Usage: PYTHONPATH=python python tests/bench/tokenizer_throughput.py [--threads 2] [--repeat 3]
"""
from __future__ import annotations

import argparse
import glob
import os
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from vmllm import tokenizers

dirs = tokenizers.rank_file_dirs()
if dirs:
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", dirs[0])
import tiktoken  # noqa: E402


def corpus() -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in glob.glob(root + "/**/*.py", recursive=True)
                   if "site-packages" not in f)
    return [open(f, "rb").read().decode("utf-8", "replace") for f in files]


def timed(fn: Callable[[str], int], texts: list[str], threads: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        if threads == 1:
            for t in texts:
                fn(t)
        else:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(fn, texts, chunksize=16))
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = corpus()
    mb = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} files, {mb:.1f} MB")
    print("| encoding | threads | vmllm MB/s | tiktoken MB/s | ratio |")
    print("|---|---|---|---|---|")
    for name in ("cl100k_base", "o200k_base"):
        ours = tokenizers.get_tokenizer(name)
        ref = tiktoken.get_encoding(name)
        assert all(ours.count(t) == len(ref.encode_ordinary(t)) for t in texts[:200])
        for threads in sorted({1, args.threads}):
            a = timed(ours.count, texts, threads, args.repeat)
            b = timed(lambda t: len(ref.encode_ordinary(t)), texts, threads, args.repeat)
            print(f"| {name} | {threads} | {mb / a:.1f} | {mb / b:.1f} | {b / a:.2f}x |")


if __name__ == "__main__":
    main()
