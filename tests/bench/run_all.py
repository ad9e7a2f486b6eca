"""Runs every vmllm benchmark against its baselines and prints Markdown tables with ratios.

    python tests/bench/run_all.py            # the full run recorded in BENCHMARKS.md
    python tests/bench/run_all.py --quick    # tiny sizes: the smoke run CI does

Baselines whose packages are missing (chromadb, tiktoken + litellm, hnswlib: `pip install
.[bench]`) are reported as n/a, never as failures. The C++ micro-benchmarks join when their
binary exists (cmake -DVMLLM_BUILD_BENCHMARKS=ON; pass --cpp-bench PATH or let it be found).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_find  # noqa: E402
import bench_ingest  # noqa: E402
import bench_page_table  # noqa: E402
import bench_tokens  # noqa: E402
from _common import Section, render  # noqa: E402

CPP_BENCH_CANDIDATES = ["build/bench/cpp/bench/vmllm_bench", "build/cpp/cpp/bench/vmllm_bench"]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CI smoke run)")
    parser.add_argument("--only", default="page_table,ingest,find,tokens,memory",
                        help="comma-separated subset of benchmarks")
    parser.add_argument("--cpp-bench", default=None, help="path of the vmllm_bench binary")
    parser.add_argument("--find-sizes", default="10000,100000",
                        help="page counts for semantic_find (full run)")
    parser.add_argument("--chroma-max", type=int, default=100000,
                        help="largest page count to load into chromadb")
    parser.add_argument("--output", default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    root = HERE.parent.parent
    cpp_bench = args.cpp_bench or next(
        (str(root / c) for c in CPP_BENCH_CANDIDATES if (root / c).exists()), None)

    started = time.perf_counter()
    sections: list[Section] = []
    python_table = None
    if "page_table" in only or "memory" in only:
        python_table = bench_page_table.python_side(200 if args.quick else 10_000,
                                                    0.05 if args.quick else 1.0)
    cpp_table = None
    if python_table is not None:
        cpp_table = bench_page_table.cpp_side(cpp_bench, args.quick, python_table)
    if "page_table" in only and python_table is not None:
        sections.append(python_table)
        if cpp_table is not None:
            sections.append(cpp_table)
    if "ingest" in only:
        sections.append(bench_ingest.run(args.quick))
    if "find" in only:
        sizes = [int(s) for s in args.find_sizes.split(",")]
        sections.append(bench_find.run(args.quick, sizes, args.chroma_max))
    if "tokens" in only:
        sections.append(bench_tokens.run(args.quick))
    if "memory" in only:
        sections.append(bench_page_table.memory_section(cpp_table,
                                                        10_000 if args.quick else 1_000_000))

    header = (f"Command: `python tests/bench/run_all.py{' --quick' if args.quick else ''}`  \n"
              f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  \n"
              f"Machine: {_machine()}  \n"
              f"C++ benchmarks: {cpp_bench or 'not built'}  \n"
              f"Wall time: {time.perf_counter() - started:.0f} s\n")
    report = header + "\n" + render(sections)
    print(report)
    if args.output:
        Path(args.output).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
