"""Rich display: HTML for a page entry, the page table, stats and agent results."""

from __future__ import annotations

import pytest

import vmllm
from conftest import paragraphs
from vmllm.display import PageHtml, StatsHtml, TierRecorder, page_table_html


def test_page_table_html_lists_pages_with_their_tiers_and_escapes_ids(vm):
    ids = vm.ingest("<script>alert(1)</script>", paragraphs(6))
    vm.request_page(ids[0])
    html = vm.page_table._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f"<b>{len(ids)} pages</b>" in html
    assert html.count("<tr>") == len(ids) + 1  # a header row and one row per page
    assert ">L1</span> 1" in html and f">L4</span> {len(ids) - 1}" in html
    assert page_table_html(vm.page_table, limit=1).count("<tr>") == 2
    assert f"… {len(ids) - 1} more pages" in page_table_html(vm.page_table, limit=1)


def test_page_entry_and_stats_render_their_values(vm):
    ids = vm.ingest("doc", paragraphs(6))
    vm.request_page(ids[1])
    vm.release_page(ids[1], compress=True)
    entry = vm.page_table[ids[1]]
    html = PageHtml(entry)._repr_html_()
    assert ids[1] in html and "<b>summary</b>" in html and entry.summary[:20] in html
    stats = StatsHtml(vm.stats())
    assert stats["faults"] == 1  # still the dict
    assert "<th style='text-align:left'>faults</th><td>1</td>" in stats._repr_html_()
    assert "L1 0/400 tokens" in vm._repr_html_()


def test_closed_memory_and_agent_results_render(store):
    memory = vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100)
    ids = memory.ingest("doc", paragraphs(4))
    result = vmllm.VirtualMemoryAgent(memory, lambda m: f"done [{ids[0]}]").query(
        "q", seed_page_ids=[ids[0]])
    html = result._repr_html_()
    assert f"cites</b>: {ids[0]}" in html and "<b>seed</b>" in html
    memory.close()
    assert "(closed)" in memory._repr_html_()


def test_tier_recorder_samples_pages_per_tier(vm):
    recorder = TierRecorder(vm)
    assert recorder.record("empty") == {"L1": 0, "L2": 0, "L3": 0, "L4": 0}
    ids = vm.ingest("doc", paragraphs(6))
    vm.request_page(ids[0])
    assert recorder.record("one in") == {"L1": 1, "L2": 0, "L3": 0, "L4": len(ids) - 1}
    assert recorder.labels == ["empty", "one in"]


def test_plot_events_draws_a_step_line_per_kind_that_happened(vm):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from vmllm.display import plot_events

    ids = vm.ingest("doc", paragraphs(40))
    for page_id in ids:
        vm.request_page(page_id)
    events = vm.events()
    ax = plot_events(events)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "page_in" in labels
    page_ins = next(line for line in ax.get_lines() if line.get_label() == "page_in")
    assert list(page_ins.get_ydata())[-1] == sum(e["kind"] == "page_in" for e in events)
    assert "pin" not in labels  # Nothing was pinned: no line for it.
