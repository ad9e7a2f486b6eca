"""Rich display for notebooks: HTML for a page entry, the page table, stats and agent results,
and a matplotlib plot of tier occupancy over a session.

Jupyter calls ``_repr_html_`` on the last value of a cell; :class:`vmllm.VirtualMemory` and :class:`vmllm.PageTableView` call into this module, and
:class:`PageHtml` / :class:`StatsHtml` wrap a page entry or a stats dict (the native
``PageEntry`` cannot take new attributes). Everything here is pure and escapes its input.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .agent import AgentResult
    from .virtual_memory import PageTableView, VirtualMemory

_TIER_COLOURS = {"L1": "#2e7d32", "L2": "#f9a825", "L3": "#1565c0", "L4": "#616161"}
_PAGE_FIELDS = ("page_id", "doc_id", "chunk_index", "tier", "tokens", "bytes", "access_count",
                "fault_count", "pinned", "compressed", "resident_as_summary")
_MAX_ROWS = 50


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _tier_badge(tier: str) -> str:
    colour = _TIER_COLOURS.get(tier, "#999")
    return (f'<span style="background:{colour};color:white;padding:0 4px;'
            f'border-radius:3px">{_esc(tier)}</span>')


def page_entry_html(entry: Any) -> str:
    """One page-table entry as an HTML definition table, its summary (if any) below."""
    rows = "".join(
        f"<tr><th style='text-align:left'>{name}</th><td>"
        f"{_tier_badge(entry.tier) if name == 'tier' else _esc(getattr(entry, name))}</td></tr>"
        for name in _PAGE_FIELDS)
    summary = getattr(entry, "summary", None)
    extra = f"<p><b>summary</b>: {_esc(summary)}</p>" if summary else ""
    return f"<div class='vmllm-page'><table>{rows}</table>{extra}</div>"


def page_table_html(table: PageTableView, limit: int = _MAX_ROWS) -> str:
    """The page table as an HTML table (the first ``limit`` pages) with a per-tier count."""
    counts: dict[str, int] = {}
    body = []
    for index, page_id in enumerate(table):
        entry = table[page_id]
        counts[entry.tier] = counts.get(entry.tier, 0) + 1
        if index < limit:
            cells = "".join(
                f"<td>{_tier_badge(entry.tier) if f == 'tier' else _esc(getattr(entry, f))}</td>"
                for f in _PAGE_FIELDS)
            body.append(f"<tr>{cells}</tr>")
    head = "".join(f"<th>{f}</th>" for f in _PAGE_FIELDS)
    total = sum(counts.values())
    summary = ", ".join(f"{_tier_badge(t)} {counts[t]}" for t in sorted(counts))
    more = f"<p>… {total - limit} more pages</p>" if total > limit else ""
    return (f"<div class='vmllm-page-table'><p><b>{total} pages</b> {summary}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"{more}</div>")


def stats_html(stats: Mapping[str, Any]) -> str:
    """``VirtualMemory.stats()`` as HTML: a per-tier table, then the scalar counters."""
    tiers: Mapping[str, Mapping[str, Any]] = stats.get("tiers", {}) or {}
    columns = sorted({k for t in tiers.values() for k in t})
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    rows = "".join(
        f"<tr><td>{_tier_badge(name)}</td>"
        + "".join(f"<td>{_esc(values.get(c, ''))}</td>" for c in columns) + "</tr>"
        for name, values in sorted(tiers.items()))
    scalars = "".join(f"<tr><th style='text-align:left'>{_esc(k)}</th><td>{_esc(v)}</td></tr>"
                      for k, v in stats.items() if not isinstance(v, (dict, list)))
    return (f"<div class='vmllm-stats'><table><thead><tr><th>tier</th>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table><table>{scalars}</table></div>")


def virtual_memory_html(vm: VirtualMemory) -> str:
    """A VirtualMemory: its L1 fill, active pages and stats."""
    if getattr(vm, "_closed", False):
        return f"<pre>{_esc(repr(vm))}</pre>"
    s = vm.stats()
    used, budget = s.get("l1_used", 0), s.get("l1_budget", 1) or 1
    percent = min(100.0, 100.0 * used / budget)
    bar = (f"<div style='width:300px;border:1px solid #999;height:10px'>"
           f"<div style='width:{percent:.0f}%;background:{_TIER_COLOURS['L1']};height:10px'>"
           f"</div></div>")
    active = ", ".join(_esc(p) for p in vm.active_pages()) or "(none)"
    return (f"<div class='vmllm'><p><b>VirtualMemory</b> {_esc(vm.path)}: "
            f"L1 {used}/{budget} tokens</p>{bar}<p><b>active</b>: {active}</p>"
            f"{stats_html(s)}</div>")


def agent_result_html(result: AgentResult) -> str:
    """An agent's answer, citations and event log."""
    events = "".join(f"<li><b>{_esc(e['type'])}</b> "
                     f"{_esc({k: v for k, v in e.items() if k != 'type'})}</li>"
                     for e in result.events)
    return (f"<div class='vmllm-answer'><p>{_esc(result.answer)}</p>"
            f"<p><b>cites</b>: {_esc(', '.join(result.citations))} · "
            f"{result.faults} faults · {result.rounds} model calls</p><ol>{events}</ol></div>")


class PageHtml:
    """Wraps a page entry so that a notebook renders it as HTML."""

    def __init__(self, entry: Any) -> None:
        self.entry = entry

    def _repr_html_(self) -> str:
        return page_entry_html(self.entry)


class StatsHtml(dict):  # type: ignore[type-arg]
    """A stats dict that renders as HTML in a notebook (and is still a dict)."""

    def _repr_html_(self) -> str:
        return stats_html(self)


class TierRecorder:
    """Samples per-tier page counts after each step of a session, for :meth:`plot`."""

    def __init__(self, vm: VirtualMemory) -> None:
        self.vm = vm
        self.labels: list[str] = []
        self.samples: list[dict[str, int]] = []

    def record(self, label: str) -> dict[str, int]:
        tiers = self.vm.stats().get("tiers", {})
        sample = {t: int(tiers.get(t, {}).get("pages", 0)) for t in ("L1", "L2", "L3", "L4")}
        self.labels.append(label)
        self.samples.append(sample)
        return sample

    def plot(self, ax: Optional[Any] = None) -> Any:
        """A line per tier: pages held after each recorded step. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.5))
        steps = range(len(self.samples))
        for tier in ("L1", "L2", "L3", "L4"):
            ax.plot(steps, [s[tier] for s in self.samples], marker="o", label=tier,
                    color=_TIER_COLOURS[tier])
        ax.set_xticks(list(steps))
        ax.set_xticklabels(self.labels, rotation=30, ha="right")
        ax.set_ylabel("pages held")
        ax.set_title("Tier occupancy over the session")
        ax.legend()
        return ax


def plot_events(events: Iterable[Mapping[str, Any]], ax: Optional[Any] = None,
                kinds: tuple[str, ...] = ("page_in", "eviction", "release", "compression",
                                          "pin")) -> Any:
    """The engine's events (``VirtualMemory.events()``) as cumulative counts per kind over the
    event sequence: where the session faulted pages in, evicted and compressed. Returns the
    axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3))
    events = list(events)
    seqs = [int(e["seq"]) for e in events]
    for kind in kinds:
        total, counts = 0, []
        for event in events:
            total += event["kind"] == kind
            counts.append(total)
        if total:
            ax.step(seqs, counts, where="post", label=kind)
    ax.set_xlabel("event")
    ax.set_ylabel("events so far")
    ax.set_title("What the engine did to pages")
    ax.legend()
    return ax


def pages_html(entries: Iterable[Any]) -> str:
    """Several page entries side by side."""
    return "".join(page_entry_html(e) for e in entries)
