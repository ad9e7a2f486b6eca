"""The ``vmllm`` command line: demo, ingest, ls, rm, find, page, stats, replay, proxy and run."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import _cli_args as _args
from . import _core
from ._cli_args import UsageError
from ._progress import Progress
from .errors import StorageError, VmllmError
from .virtual_memory import MAX_RESULTS, VirtualMemory

_SKIPPED_DIRS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "lib2to3",
                 "dist-packages", "turtledemo"}
#: What ``vmllm ingest`` takes from a directory unless told otherwise (compared lower case).
DEFAULT_EXTENSIONS = (".md", ".markdown", ".rst", ".txt", ".py")


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


class _Selection:
    """The files an ``ingest`` run takes, their document ids, and what it passed over."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}  # doc id -> file, in the order found.
        self.skipped: Counter[str] = Counter()  # extension (lower case) -> files passed over.


def _count(n: int, noun: str) -> str:
    """``1 page``, ``2 pages``, ``1,747 pages``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _normalise_ext(ext: str) -> str:
    ext = ext.strip().lower()
    if not ext.lstrip("."):
        raise UsageError(f"argument --ext: not a file extension: {ext!r} "
                         "(see: vmllm ingest --help)")
    return ext if ext.startswith(".") else "." + ext


def _extension(path: Path) -> str:
    return path.suffix.lower() or "(none)"


def select_files(paths: Sequence[str], extensions: Sequence[str]) -> _Selection:
    """Finds the files to ingest and gives each its document id.

    A file given by itself is stored under its name; a file found in a directory under the
    directory's own name, then its path inside it (``langchain/__init__.py``), so the files of
    two directories never share an id. Raises ``UsageError`` when two different files would
    still get the same id, before anything is stored.
    """
    chosen = tuple(extensions)
    selection = _Selection()
    for given in paths:
        root = Path(given)
        if root.is_dir():
            # abspath, not resolve: "." is named after the working directory, and a symlink
            # after itself rather than its target.
            prefix = Path(os.path.abspath(root)).name
            found: list[tuple[str, Path]] = []
            for dirpath, dirnames, filenames in os.walk(root):
                # Hidden directories (.git) and bytecode caches hold no text worth paging.
                dirnames[:] = sorted(d for d in dirnames
                                     if not d.startswith(".") and d != "__pycache__")
                for name in sorted(filenames):
                    full = Path(dirpath, name)
                    if not full.is_file():  # A broken link, a socket, a FIFO.
                        selection.skipped["(not a file)"] += 1
                    elif name.lower().endswith(chosen):
                        rel = full.relative_to(root).as_posix()
                        found.append((f"{prefix}/{rel}" if prefix else rel, full))
                    else:
                        selection.skipped[_extension(full)] += 1
        elif root.is_file():
            found = [(root.name, root)]  # Named explicitly: taken whatever its extension.
        else:
            raise FileNotFoundError(f"no such file or directory: {given}")
        for doc_id, full in found:
            earlier = selection.files.get(doc_id)
            if earlier is None:
                selection.files[doc_id] = full
            elif not os.path.samefile(earlier, full):
                raise UsageError(
                    f"{earlier} and {full} would both be stored as document {doc_id!r}; "
                    "ingest them in separate stores, or rename one")
    return selection


def ingest_files(vm: VirtualMemory, files: list[tuple[str, Path]], label: str) -> dict[str, float]:
    """Ingests ``(doc_id, path)`` pairs with a progress bar; returns size and timing."""
    total = sum(path.stat().st_size for _, path in files)
    bar = Progress(total / 1e6, label, unit=" MB")
    pages = 0
    skipped = 0
    started = time.perf_counter()
    for doc_id, path in files:
        data = b""
        try:
            data = path.read_bytes()
            pages += len(vm.ingest(doc_id, data))
        except StorageError:
            raise  # The store itself failed: stop, rather than fail every file the same way.
        except (VmllmError, OSError) as exc:  # Not UTF-8, or unreadable: report, keep going.
            skipped += 1
            print(f"  not ingested: {path}: {exc}", file=sys.stderr)
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


def _skipped_summary(skipped: Counter[str]) -> str:
    by_count = sorted(skipped.items(), key=lambda e: (-e[1], e[0]))
    counts = ", ".join(f"{ext} {n:,}" for ext, n in by_count)
    hint = " ".join(f"--ext {ext}" for ext in sorted(skipped) if ext.startswith("."))
    n = sum(skipped.values())
    kind = "file of another type" if n == 1 else "files of other types"
    line = f"skipped {n:,} {kind}: {counts}"
    return line + (f" (to include them: {hint})" if hint else "")


def run_ingest(args: argparse.Namespace) -> int:
    extensions = [] if args.no_default_ext else list(DEFAULT_EXTENSIONS)
    extensions += [_normalise_ext(e) for e in args.ext or []]
    if not extensions:
        raise UsageError("--no-default-ext needs at least one --ext (see: vmllm ingest --help)")
    selection = select_files(args.paths, extensions)
    if not selection.files:
        message = "no files to ingest"
        if selection.skipped:
            message += "; " + _skipped_summary(selection.skipped)
        raise UsageError(message)
    files = list(selection.files.items())
    with VirtualMemory(args.store, l1_tokens=max(args.page_tokens, 6000),
                       page_tokens=args.page_tokens) as vm:
        result = ingest_files(vm, files, "ingest")
        print(f"{_count(len(files), 'file')}, {result['bytes'] / 1e6:.2f} MB -> "
              f"{_count(int(result['pages']), 'page')} "
              f"in {result['seconds']:.2f} s into {vm.path}")
    if selection.skipped:
        print(_skipped_summary(selection.skipped))
    if result["skipped"]:
        # The rest is stored; exit 1 tells a script that not everything made it.
        n = result["skipped"]
        print(f"vmllm: {n:,} file{' was' if n == 1 else 's were'} not ingested (see above)",
              file=sys.stderr)
        return 1
    return 0


def _existing_store(path: str) -> VirtualMemory:
    if not Path(path, "store.db").is_file():
        raise FileNotFoundError(f"no vmllm store at {path!r} (create one with: vmllm ingest "
                                "PATH --store DIR)")
    return VirtualMemory(path)


def documents(vm: VirtualMemory) -> dict[str, dict[str, int]]:
    """Every document of a store: doc id -> pages, tokens and bytes, sorted by id."""
    docs: dict[str, dict[str, int]] = {}
    for page_id in vm.page_table:
        entry = vm.page_table[page_id]
        d = docs.setdefault(entry.doc_id, {"pages": 0, "tokens": 0, "bytes": 0})
        d["pages"] += 1
        d["tokens"] += entry.tokens
        d["bytes"] += entry.bytes
    return dict(sorted(docs.items()))


def run_ls(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        docs = {d: v for d, v in documents(vm).items() if d.startswith(args.prefix)}
    if args.json:
        print(json.dumps([{"doc_id": d, **v} for d, v in docs.items()], indent=2))
        return 0
    print(f"{'pages':>7}{'tokens':>12}{'bytes':>14}  document")
    for doc_id, v in docs.items():
        print(f"{v['pages']:>7,}{v['tokens']:>12,}{v['bytes']:>14,}  {doc_id}")
    pages = sum(v["pages"] for v in docs.values())
    print(f"{_count(len(docs), 'document')}, {_count(pages, 'page')}")
    return 0


def run_rm(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        docs = documents(vm)
        missing = [d for d in args.doc_ids if d not in docs]
        if missing:  # Nothing is removed unless every id is right.
            raise UsageError(f"no document {missing[0]!r} in {args.store} (list them with: "
                             f"vmllm ls --store {args.store})")
        for doc_id in dict.fromkeys(args.doc_ids):
            vm.delete(doc_id)
            print(f"removed {doc_id} ({_count(docs[doc_id]['pages'], 'page')})")
    return 0


def run_find(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        hits = []
        for page_id, score in vm.search(args.query, n=args.n, mode=args.mode):
            entry = vm.page_table[page_id]
            hits.append({"page_id": page_id, "doc_id": entry.doc_id,
                         "chunk_index": entry.chunk_index, "score": score,
                         "preview": vm.read_page(page_id)[:100].replace("\n", " ")})
    if args.json:
        print(json.dumps(hits, indent=2))
    for hit in [] if args.json else hits:
        print(f"{hit['score']:8.4f}  {hit['page_id']}\n          {hit['preview']}")
    return 0


def run_page(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        sys.stdout.write(vm.read_page(args.page_id))
    return 0


def run_stats(args: argparse.Namespace) -> int:
    with _existing_store(args.store) as vm:
        spaces = vm.spaces()
        if args.space != "doc" and args.space not in spaces:  # A typo would report zeros.
            raise UsageError(f"no space {args.space!r} in {args.store} (spaces: "
                             f"{', '.join(spaces[:20]) or 'none'})")
        stats = vm.stats(args.space)
        if args.json:
            print(json.dumps(stats, indent=2))
        else:
            print(f"store {vm.path}, space {args.space}: {stats['total_pages']:,} pages")
            print(_tier_table(stats))
            others = [s for s in spaces if s != args.space]
            if others:  # Proxy and middleware sessions, conversations: one line for all.
                print("other spaces: " + ", ".join(
                    f"{s} ({vm.stats(s)['total_pages']:,} pages)" for s in others[:20])
                    + (f", and {len(others) - 20} more" if len(others) > 20 else ""))
    return 0


def run_mcp(args: argparse.Namespace) -> int:
    from . import mcp_server  # Lazy: the MCP SDK is an optional extra (vmllm[mcp]).
    return mcp_server.run_cli(args)


def _version() -> str:
    """The installed distribution's version when it is this copy of vmllm, else ``__version__``.

    A source checkout on ``PYTHONPATH`` may shadow an installed vmllm of another version, so
    the metadata counts only if it describes the files actually imported.
    """
    here = Path(__file__).with_name("__init__.py").resolve()
    try:
        dist = importlib.metadata.distribution("vmllm")
        if Path(str(dist.locate_file("vmllm/__init__.py"))).resolve() == here:
            return dist.version
    except importlib.metadata.PackageNotFoundError:
        pass
    from . import __version__
    return __version__


_DESCRIPTION = """\
vmllm: virtual memory for LLM context windows. Text becomes pages in a store
(a directory); pages move between the context window (L1), hot RAM (L2),
searchable swap (L3) and disk (L4).

Errors are one line on stderr starting with "vmllm:", exit code 2. Exit code 1:
the command ran, but not everything succeeded (e.g. a file that is not UTF-8)."""

_INGEST_EPILOG = f"""\
document ids: a file given by itself is stored under its name (guide.md); the
files of a directory under the directory's own name, then their path inside
it (vmllm ingest langchain_core langchain stores langchain_core/__init__.py and
langchain/__init__.py). Page ids are DOC_ID::chunk_0000, DOC_ID::chunk_0001...
Ingesting an id again replaces that document. Two different files that would
get the same id are refused before anything is stored.

file types: in directories, files ending in {" ".join(DEFAULT_EXTENSIONS)} (any
case: .MD counts), plus each --ext; hidden directories and __pycache__ are not
entered. Files of other types are counted in a summary at the end. A file named
on the command line is ingested whatever its extension."""


def build_parser() -> argparse.ArgumentParser:
    parser = _args.Parser(prog="vmllm", description=_DESCRIPTION,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vmllm {_version()}",
                        help="print the version of vmllm and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands")
    raw = argparse.RawDescriptionHelpFormatter

    demo = sub.add_parser("demo", help="ingest the Python standard library and run a session",
                          description="Ingest part of the Python standard library, then run a "
                          "scripted session that pages through every tier.")
    demo.add_argument("--store", default=None, metavar="DIR",
                      help="store directory (default: a temporary one, deleted at the end)")
    demo.add_argument("--mb", type=_args.positive_float(100_000), default=6.0,
                      help="megabytes of the standard library to ingest (default 6)")
    demo.add_argument("--l1-tokens", type=_args.tokens, default=6000, metavar="N",
                      help="context window (L1) budget in tokens (default 6000)")
    demo.add_argument("--page-tokens", type=_args.tokens, default=2000, metavar="N",
                      help="largest page in tokens, at most --l1-tokens (default 2000)")
    demo.add_argument("--l2-bytes", type=_args.positive_bytes, default=12_000, metavar="N",
                      help="L2 cache size in bytes; small, so pages spill to L3 (default 12000)")
    demo.add_argument("--policy", default="lru", choices=list(_core.eviction_policies()),
                      help="eviction policy (default lru)")
    demo.set_defaults(run=run_demo)

    ingest = sub.add_parser("ingest", help="ingest files or directories into a store",
                            description="Cut files into pages and store them.",
                            epilog=_INGEST_EPILOG, formatter_class=raw)
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files and directories")
    ingest.add_argument("--store", required=True, metavar="DIR",
                        help="store directory, created if missing")
    ingest.add_argument("--page-tokens", type=_args.tokens, default=2000, metavar="N",
                        help="largest page in tokens (default 2000)")
    ingest.add_argument("--ext", action="append", metavar="EXT",
                        help="also ingest files ending in EXT, e.g. --ext .json --ext .yaml "
                        "(any case; repeatable)")
    ingest.add_argument("--no-default-ext", action="store_true",
                        help="in directories, ingest only the --ext types")
    ingest.set_defaults(run=run_ingest)

    ls = sub.add_parser("ls", help="list the documents of a store with their page counts")
    ls.add_argument("prefix", nargs="?", default="", metavar="PREFIX",
                    help="only documents whose id starts with PREFIX")
    ls.add_argument("--store", required=True, metavar="DIR", help="store directory")
    ls.add_argument("--json", action="store_true",
                    help="a JSON list of {doc_id, pages, tokens, bytes} on stdout")
    ls.set_defaults(run=run_ls)

    rm = sub.add_parser("rm", help="delete documents (all their pages) from a store",
                        description="Delete documents by id (see vmllm ls). Nothing is deleted "
                        "if any id is unknown.")
    rm.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document ids, as vmllm ls shows")
    rm.add_argument("--store", required=True, metavar="DIR", help="store directory")
    rm.set_defaults(run=run_rm)

    find = sub.add_parser("find", help="search a store (vector + keyword)")
    find.add_argument("query", help="what to look for, in words")
    find.add_argument("--store", required=True, metavar="DIR", help="store directory")
    find.add_argument("-n", type=_args.int_in(1, MAX_RESULTS), default=5,
                      help="how many pages to return (default 5)")
    find.add_argument("--mode", choices=["hybrid", "vector", "keyword"], default="hybrid",
                      help="hybrid (default: vector and BM25 ranks fused), vector or keyword")
    find.add_argument("--json", action="store_true",
                      help="a JSON list of {page_id, doc_id, chunk_index, score, preview}")
    find.set_defaults(run=run_find)

    page = sub.add_parser("page", help="print one page's original text")
    page.add_argument("page_id", help="a page id, e.g. guide.md::chunk_0000")
    page.add_argument("--store", required=True, metavar="DIR", help="store directory")
    page.set_defaults(run=run_page)

    stats = sub.add_parser("stats", help="page counts and per-tier occupancy of a store")
    stats.add_argument("--store", required=True, metavar="DIR", help="store directory")
    stats.add_argument("--json", action="store_true", help="the counters as JSON on stdout")
    stats.add_argument("--space", default="doc", metavar="NAME",
                       help="the space to report: doc (documents, the default), or one of the "
                       "others the text output lists (e.g. a proxy session's stream:...)")
    stats.set_defaults(run=run_stats)

    mcp = sub.add_parser("mcp", help="serve a store to MCP clients (Claude, Cursor...)",
                         description="Serve a store's search, pages, recall, ingest and stats "
                         "as MCP tools and resources (stdio, or streamable HTTP with --http).")
    mcp.add_argument("--store", required=True, metavar="DIR",
                     help="store directory (created if missing)")
    mcp.add_argument("--http", action="store_true",
                     help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    mcp.add_argument("--host", default=None, help="address to bind with --http (default "
                     "127.0.0.1; anything else is reachable beyond this machine)")
    mcp.add_argument("--port", type=_args.port, default=None,
                     help="port with --http (default 8000)")
    mcp.add_argument("--l1-tokens", type=_args.tokens, default=6000, metavar="N",
                     help="context window (L1) budget in tokens (default 6000)")
    mcp.add_argument("--page-tokens", type=_args.tokens, default=2000, metavar="N",
                     help="largest page in tokens (default 2000)")
    mcp.set_defaults(run=run_mcp)

    from . import replay as _replay  # Message-stream paging (issue 6).
    _replay.add_parser(sub)
    from . import proxy as _proxy
    _proxy.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except (UsageError, VmllmError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. vmllm ls | head: not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        print(f"vmllm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vmllm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
