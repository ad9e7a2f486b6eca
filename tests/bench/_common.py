"""Shared helpers for the vmllm benchmarks: timing, result rows, optional baselines."""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Row:
    """One measured operation: vmllm and its baselines, in the same unit (higher or lower better)."""

    what: str
    unit: str
    vmllm: Optional[float]
    baselines: dict[str, Optional[float]] = field(default_factory=dict)
    higher_is_better: bool = True
    note: str = ""

    def ratio(self, baseline: str) -> Optional[float]:
        """How many times better vmllm is than ``baseline`` (>1 means vmllm wins)."""
        other = self.baselines.get(baseline)
        if self.vmllm is None or other is None or other == 0 or self.vmllm == 0:
            return None
        return self.vmllm / other if self.higher_is_better else other / self.vmllm


@dataclass
class Section:
    """A titled table of rows; ``notes`` say what exactly was measured."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def have(module: str) -> bool:
    """True if ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def ops_per_second(op: Callable[[int], object], n: int, budget_s: float = 0.5) -> float:
    """Calls ``op(i)`` for i in 0..n-1, stopping early after ``budget_s``; returns calls/s."""
    start = time.perf_counter()
    done = 0
    for i in range(n):
        op(i)
        done += 1
        if (done & 63) == 0 and time.perf_counter() - start > budget_s:
            break
    return done / (time.perf_counter() - start)


def best_of(fn: Callable[[], float], repeat: int) -> float:
    """The best (highest) of ``repeat`` measurements returned by ``fn``."""
    return max(fn() for _ in range(repeat))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``, nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]


def fmt(value: Optional[float]) -> str:
    """A number with about three significant digits, or "n/a"."""
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render(sections: list[Section]) -> str:
    """Markdown tables: one per section, a ratio column per baseline."""
    out: list[str] = []
    for section in sections:
        out.append(f"### {section.title}\n")
        baselines: list[str] = []
        for row in section.rows:
            for name in row.baselines:
                if name not in baselines:
                    baselines.append(name)
        header = ["operation", "unit", "vmllm"]
        for name in baselines:
            header += [name, f"vmllm vs {name}"]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for row in section.rows:
            cells = [row.what + (f" ({row.note})" if row.note else ""), row.unit, fmt(row.vmllm)]
            for name in baselines:
                ratio = row.ratio(name)
                cells += [fmt(row.baselines.get(name)), f"{fmt(ratio)}x" if ratio else "n/a"]
            out.append("| " + " | ".join(cells) + " |")
        if section.notes:
            out.append("")
        out += [f"- {note}" for note in section.notes]
        out.append("")
    return "\n".join(out)


def tiktoken_cache_dir() -> Optional[str]:
    """The folder inside the installed ``litellm`` that holds the cl100k_base rank file."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = os.path.join(
        list(spec.submodule_search_locations)[0], "litellm_core_utils", "tokenizers"
    )
    return folder if os.path.isdir(folder) else None


def cl100k():  # type: ignore[no-untyped-def]
    """tiktoken's cl100k_base, loaded offline from litellm's copy of the rank file, or None."""
    if not have("tiktoken"):
        return None
    folder = tiktoken_cache_dir()
    if folder is None:
        return None
    os.environ["TIKTOKEN_CACHE_DIR"] = folder
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base")
    except Exception:  # noqa: BLE001 - any failure (no network, no file) means "not available"
        return None
