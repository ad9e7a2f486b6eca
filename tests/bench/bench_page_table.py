"""Page-table touch / lookup / update: vmllm from Python and C++ vs the seed's JSON page table
and a plain dict of dataclasses (benchmark a), and bytes per entry at 1M pages (benchmark e)."""

from __future__ import annotations

import gc
import json
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Optional

import vmllm
from _common import Row, Section, ops_per_second
from seed_page_table import SeedEntry, SeedPageTable


def _text(pages: int) -> str:
    return "".join(f"Paragraph {i} says the value is {i * 7}.\n\n" for i in range(pages))


def python_side(pages: int, budget: float) -> Section:
    """Operations per second from Python, on ``pages`` pages."""
    section = Section(f"Page table from Python ({pages:,} pages, operations per second)")
    with tempfile.TemporaryDirectory() as tmp:
        vm = vmllm.VirtualMemory(
            str(Path(tmp) / "store"), l1_tokens=pages * 40, page_tokens=20
        )
        ids = vm.ingest("doc", _text(pages))
        for page_id in ids:
            vm.request_page(page_id)
        n = len(ids)
        seed = SeedPageTable(Path(tmp) / "page_table.json")
        for i in range(n):
            seed.register("doc", i, 12, save=False)
        seed.save()
        seed_ids = list(seed.entries)
        plain: dict[str, SeedEntry] = {
            k: SeedEntry(k, "doc", i, 12, "L4", time.time(), 0, False)
            for i, k in enumerate(seed_ids)
        }
        table = vm.page_table
        big = 10**9  # ops_per_second stops on its time budget.

        def touch_dict(i: int) -> None:
            entry = plain[seed_ids[i % n]]
            entry.last_accessed = time.time()
            entry.access_count += 1

        def update_dict(i: int) -> None:
            plain[seed_ids[i % n]].tier = "L2" if i & 1 else "L3"

        rows = [
            ("touch (record an access)", lambda i: vm.request_page(ids[i % n]),
             lambda i: seed.touch(seed_ids[i % n]), touch_dict,
             "vmllm: request_page of a resident page"),
            ("lookup", lambda i: table[ids[i % n]], lambda i: seed.get(seed_ids[i % n]),
             lambda i: plain.get(seed_ids[i % n]), "vmllm: page_table[page_id]"),
            ("update a field", lambda i: vm.unpin(ids[i % n]),
             lambda i: seed.update_tier(seed_ids[i % n], "L2" if i & 1 else "L3"),
             update_dict, "vmllm: unpin (flag + write-behind)"),
        ]
        for what, ours, seed_op, dict_op, note in rows:
            section.rows.append(Row(
                what, "ops/s", ops_per_second(ours, big, budget),
                {"seed JSON table": ops_per_second(seed_op, big, budget),
                 "dict of dataclasses": ops_per_second(dict_op, big, budget)},
                note=note))

        def move_ours(i: int) -> None:
            vm.release_page(ids[i % n], compress=False)
            vm.request_page(ids[i % n])

        def move_seed(i: int) -> None:
            seed.update_tier(seed_ids[i % n], "L2")
            seed.update_tier(seed_ids[i % n], "L1")

        def move_dict(i: int) -> None:
            plain[seed_ids[i % n]].tier = "L2"
            plain[seed_ids[i % n]].tier = "L1"

        section.rows.append(Row(
            "tier round trip L1 -> L2 -> L1", "ops/s", ops_per_second(move_ours, big, budget),
            {"seed JSON table": ops_per_second(move_seed, big, budget),
             "dict of dataclasses": ops_per_second(move_dict, big, budget)},
            note="vmllm moves the text too; the baselines only relabel"))
        vm.close()
    section.notes.append(
        "The seed JSON table is this benchmark's own model of seed 001's PageTable: a dict of "
        "dataclasses whose whole JSON file is rewritten on every touch and tier update.")
    return section


def cpp_side(bench: Optional[str], quick: bool, python: Section) -> Optional[Section]:
    """Runs the Google Benchmark binary and sets its numbers beside the Python baselines."""
    if not bench or not Path(bench).exists():
        return None
    args = [bench, "--benchmark_format=json"]
    if quick:
        args += ["--benchmark_filter=/10000$|Pager", "--benchmark_min_time=0.05"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    results = {b["name"]: b for b in json.loads(out)["benchmarks"]}
    base = {row.what: row.baselines for row in python.rows}
    section = Section("Page table from C++ (Google Benchmark, operations per second)")
    pairs = [
        ("BM_PageTableLookup/10000", "lookup", "PageTable::Find, 10k entries"),
        ("BM_PageTableLookup/1000000", "lookup", "PageTable::Find, 1M entries"),
        ("BM_PageTableTouch/10000", "touch (record an access)", "PageTable::Touch, 10k"),
        ("BM_PageTableTouch/1000000", "touch (record an access)", "PageTable::Touch, 1M"),
        ("BM_PageTableUpdateTier/10000", "update a field", "PageTable::SetTier, 10k"),
        ("BM_PageTableUpdateTier/1000000", "update a field", "PageTable::SetTier, 1M"),
        ("BM_PagerGetPageInfo", "lookup", "Pager::GetPageInfo"),
        ("BM_PagerTouchResident", "touch (record an access)", "Pager::RequestPage, resident"),
        ("BM_PagerUnpin", "update a field", "Pager::Unpin"),
    ]
    for name, like, what in pairs:
        if name in results:
            section.rows.append(Row(what, "ops/s", results[name].get("items_per_second"),
                                    dict(base.get(like, {}))))
    section.notes.append("Baselines are the Python figures of the table above, from this run.")
    memory = results.get("BM_PageTableMemoryPerEntry/1000000/iterations:1")
    if memory is not None:
        section.notes.append(f"C++ bytes per entry at 1M: {memory['bytes_per_entry']:.0f}")
    return section


def memory_section(bench_result: Optional[Section], pages: int) -> Section:
    """Heap bytes per page-table entry: C++ PageTable vs the seed's dict of dataclasses."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    entries = {}
    now = time.time()
    for i in range(pages):
        doc = f"stdlib/module_{i // 16}.py"
        page_id = f"{doc}::chunk_{i % 16:04d}"
        entries[page_id] = SeedEntry(page_id, doc, i % 16, 500, "L4", now, 0, False)
    python_bytes = (tracemalloc.get_traced_memory()[0] - before) / pages
    tracemalloc.stop()
    del entries
    cpp = None
    for note in bench_result.notes if bench_result else []:
        if note.startswith("C++ bytes per entry at 1M: "):
            cpp = float(note.rsplit(" ", 1)[1])
    section = Section(f"Memory per page-table entry ({pages:,} entries, bytes; lower is better)")
    section.rows.append(Row("heap bytes per entry", "bytes", cpp,
                            {"dict of dataclasses (= seed in memory)": python_bytes},
                            higher_is_better=False,
                            note="C++ at 1M entries: mallinfo2 delta"))
    section.notes.append("Python side measured with tracemalloc; same ids and fields in both.")
    return section
