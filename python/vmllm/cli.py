"""The ``vmllm`` command line: ``demo``, ``ingest``, ``find``, ``page`` and ``stats``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._progress import Progress
from .errors import VmllmError
from .virtual_memory import VirtualMemory

_SKIPPED_DIRS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "lib2to3",
                 "dist-packages", "turtledemo"}
_TEXT_SUFFIXES = (".py", ".md", ".rst", ".txt")

# The demo's scripted session: questions whose answers live in well-known stdlib modules.
_DEMO_QUESTIONS = [
    "heapq heappush heappop heap invariant",
    "ipaddress ip_network subnets prefixlen netmask",
    "textwrap dedent remove common leading whitespace",
    "fnmatch translate shell pattern to regular expression",
    "bisect insort insert item into sorted list",
    "shlex split quote shell-like syntax",
    "difflib SequenceMatcher ratio matching blocks",
    "base64 urlsafe_b64encode alphabet",
]


def stdlib_files(limit_bytes: int) -> Iterator[Path]:
    """Python standard library sources, top-level modules first, up to ``limit_bytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    total = 0
    top = sorted(p for p in root.iterdir() if p.suffix == ".py" and p.is_file())
    rest: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        if Path(dirpath) == root:
            continue
        rest.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    for path in top + rest:
        if total >= limit_bytes:
            return
        total += path.stat().st_size
        yield path


def _files_under(paths: Sequence[str]) -> Iterator[tuple[str, Path]]:
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for f in sorted(filenames):
                    if f.endswith(_TEXT_SUFFIXES):
                        full = Path(dirpath, f)
                        yield str(full.relative_to(p)), full
        elif p.is_file():
            yield p.name, p
        else:
            raise FileNotFoundError(f"no such file or directory: {given}")


def ingest_files(vm: VirtualMemory, files: list[tuple[str, Path]], label: str) -> dict[str, float]:
    """Ingests ``(doc_id, path)`` pairs with a progress bar; returns size and timing."""
    total = sum(path.stat().st_size for _, path in files)
    bar = Progress(total / 1e6, label, unit=" MB")
    pages = 0
    skipped = 0
    started = time.perf_counter()
    for doc_id, path in files:
        data = path.read_bytes()
        try:
            pages += len(vm.ingest(doc_id, data))
        except VmllmError as exc:  # e.g. a file that is not UTF-8: report it, keep going.
            skipped += 1
            print(f"  skipped {doc_id}: {exc}", file=sys.stderr)
        bar.update(len(data) / 1e6, doc_id[-40:])
    seconds = time.perf_counter() - started
    bar.close(f"{pages:,} pages")
    return {"bytes": total, "pages": pages, "seconds": seconds, "skipped": skipped}


def _tier_table(stats: dict) -> str:
    rows = [f"{'tier':<6}{'pages':>9}{'tokens':>12}{'bytes':>14}{'hits':>8}{'misses':>8}"
            f"{'errors':>8}"]
    for name, t in stats["tiers"].items():
        rows.append(f"{name:<6}{t['pages']:>9,}{t['tokens']:>12,}{t['bytes']:>14,}"
                    f"{t['hits']:>8,}{t['misses']:>8,}{t['errors']:>8,}")
    rows.append(f"requests {stats['requests']:,}  faults {stats['faults']:,}  "
                f"evictions {stats['evictions']:,}  releases {stats['releases']:,}  "
                f"compressions {stats['compressions']:,}  searches {stats['searches']:,}  "
                f"L1 {stats['l1_used']:,}/{stats['l1_budget']:,} tokens")
    return "\n".join(rows)


def run_demo(args: argparse.Namespace) -> int:
    store = args.store
    files = [(str(p.relative_to(Path(sysconfig.get_paths()["stdlib"]))), p)
             for p in stdlib_files(int(args.mb * 1e6))]
    # A small L2 so that pages overflow into the L3 swap during the short session, and every
    # tier shows up in the table.
    vm = VirtualMemory(store, l1_tokens=args.l1_tokens, page_tokens=args.page_tokens,
                       policy=args.policy, l2_bytes=args.l2_bytes)
    with vm:
        print(f"vmllm demo: store {vm.path}, L1 {args.l1_tokens:,} tokens, pages of at most "
              f"{args.page_tokens:,} tokens, policy {args.policy}")
        print(f"\n1. Ingest {len(files)} files of the Python standard library "
              "(tokenize, chunk, embed, index, store)")
        ingest = ingest_files(vm, files, "ingest")
        mb = ingest["bytes"] / 1e6
        print(f"   {mb:.1f} MB -> {ingest['pages']:,} pages in {ingest['seconds']:.2f} s "
              f"({mb / max(ingest['seconds'], 1e-9):.1f} MB/s)")

        print("\n2. A scripted session: each question is a page fault resolved through L3 search")
        paging_started = time.perf_counter()
        questions = _DEMO_QUESTIONS + _DEMO_QUESTIONS[:3]  # Revisits fault back from L2/L3.
        for question in questions:
            # Code pages are at most ~500 tokens (cut at definitions), so each question pulls
            # in several; a dozen fit in L1 before the policy has to evict.
            found = vm.semantic_find(question, n=4)
            moves = []
            for page_id in found:
                before = vm.page_table[page_id].tier
                vm.request_page(page_id, full=True)
                moves.append(f"{page_id} ({'hit' if before == 'L1' else 'from ' + before})")
            print(f"   ? {question}\n     -> {', '.join(moves)}")
            print(f"     L1 now {vm.context_token_count():,}/{args.l1_tokens:,} tokens, "
                  f"{len(vm.active_pages())} pages")

        print("\n3. Compress-on-evict: release a page, fault it back as its summary, then in full")
        page_id = vm.active_pages()[0]
        full = vm.request_page(page_id, full=True)
        vm.release_page(page_id, compress=True)
        summary = vm.request_page(page_id, full=False)
        back = vm.request_page(page_id)
        print(f"   {page_id}: {len(full):,} bytes -> summary of {len(summary):,} bytes "
              f"({len(full) / max(len(summary), 1):.1f}:1); full text back intact: {back == full}")
        print("   summary: " + summary[:160].replace("\n", " ") + ("..." if len(summary) > 160 else ""))
        paging_seconds = time.perf_counter() - paging_started

        print("\n4. Hand-off: a second VirtualMemory on the same store restores the working set")
        snapshot = vm.hand_off({"phase": "audit", "questions": len(questions)})
        vm.flush()
        with VirtualMemory(vm.path, l1_tokens=args.l1_tokens, page_tokens=args.page_tokens) as vm2:
            state = vm2.receive_hand_off(snapshot)
            print(f"   snapshot {len(snapshot):,} bytes (pointers, not payloads); task state "
                  f"{state}; agent B holds {len(vm2.active_pages())} pages, "
                  f"{vm2.context_token_count():,} tokens")

        stats = vm.stats()
        print("\n5. What happened, per tier (agent A)")
        print(_tier_table(stats))
        print(f"\ningest {ingest['seconds']:.2f} s for {mb:.1f} MB; paging session "
              f"{paging_seconds * 1000:.1f} ms for {stats['requests']:,} requests "
              f"({paging_seconds * 1e6 / max(stats['requests'], 1):.0f} us/request incl. search)")
        if stats["faults"] == 0 or stats["evictions"] == 0:
            print("demo did not exercise faults and evictions", file=sys.stderr)
            return 1
    return 0


def run_ingest(args: argparse.Namespace) -> int:
    files = list(_files_under(args.paths))
    with VirtualMemory(args.store, l1_tokens=max(args.page_tokens, 6000),
                       page_tokens=args.page_tokens) as vm:
        result = ingest_files(vm, files, "ingest")
        print(f"{len(files)} files, {result['bytes'] / 1e6:.2f} MB -> {result['pages']:,} pages "
              f"in {result['seconds']:.2f} s into {vm.path}")
    return 1 if result["skipped"] else 0


def _existing_store(path: str) -> VirtualMemory:
    if not Path(path, "store.db").is_file():
        raise FileNotFoundError(f"no vmllm store at {path!r} (create one with `vmllm ingest`)")
    return VirtualMemory(path)


def run_find(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        for page_id, score in vm.search(args.query, n=args.n, mode=args.mode):
            preview = vm.read_page(page_id)[:100].replace("\n", " ")
            print(f"{score:8.4f}  {page_id}\n          {preview}")
    return 0


def run_page(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        sys.stdout.write(vm.read_page(args.page_id))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        stats = vm.stats()
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"store {vm.path}: {stats['total_pages']:,} pages")
            print(_tier_table(stats))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vmllm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="ingest the Python standard library and run a session")
    demo.add_argument("--store", default=None, help="store directory (default: temporary)")
    demo.add_argument("--mb", type=float, default=6.0, help="megabytes of stdlib to ingest")
    demo.add_argument("--l1-tokens", type=int, default=6000)
    demo.add_argument("--page-tokens", type=int, default=2000)
    demo.add_argument("--l2-bytes", type=int, default=12_000)
    demo.add_argument("--policy", default="lru")
    demo.set_defaults(run=run_demo)

    ingest = sub.add_parser("ingest", help="ingest files or directories into a store")
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--store", required=True)
    ingest.add_argument("--page-tokens", type=int, default=2000)
    ingest.set_defaults(run=run_ingest)

    find = sub.add_parser("find", help="search a store")
    find.add_argument("query")
    find.add_argument("--store", required=True)
    find.add_argument("-n", type=int, default=5)
    find.add_argument("--mode", choices=["hybrid", "vector", "keyword"], default="hybrid")
    find.set_defaults(run=run_find)

    page = sub.add_parser("page", help="print one page's original text")
    page.add_argument("page_id")
    page.add_argument("--store", required=True)
    page.set_defaults(run=run_page)

    stats = sub.add_parser("stats", help="page counts and per-tier occupancy of a store")
    stats.add_argument("--store", required=True)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=run_stats)

    from . import replay as _replay  # Message-stream paging (issue 6).
    _replay.add_parser(sub)
    from . import proxy as _proxy
    _proxy.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (VmllmError, OSError) as exc:
        print(f"vmllm: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
