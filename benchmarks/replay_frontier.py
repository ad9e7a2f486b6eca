"""The paging frontier (issue 15): reduction, fault rate and dollars for every policy and for a
sweep of stream-policy settings, per trace set; picks the cheapest setting at <= 1% faults.

    python benchmarks/replay_frontier.py [--traces DIR ...] [--model NAME] [--l1-tokens N]

Each DIR is one trace set (every .json/.traj/.jsonl under it, recursively); by default the
repository's data/traces split into tau-bench and SWE-agent. Prices: vmllm's prices.json.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

from vmllm.replay import (format_classes, format_frontier, load_prices, load_sessions,
                          model_prices, replay)

REPO = Path(__file__).resolve().parents[1]


def trace_sets(dirs: list[str]) -> dict[str, list[Path]]:
    if not dirs:
        root = REPO / "data" / "traces"
        return {"tau-bench": sorted(root.glob("tau-bench*.json")),
                "swe-agent": sorted((root / "swe-agent").glob("*.traj"))}
    sets = {}
    for d in dirs:
        files = [p for p in sorted(Path(d).rglob("*")) if p.suffix in (".json", ".traj", ".jsonl")]
        sets[Path(d).name] = files
    return sets


def sweep(sessions: list[Any], price: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream policy over τ, cache-aware batching and the fault monitor's threshold."""
    rows = []
    for tau, cache, thrash in itertools.product((1, 2, 3, 4), (False, True), (0, 1)):
        name = "tau-cache" if cache else "tau"
        t = replay(sessions, [name], tau_turns=tau, progress=False, price=price,
                   thrash_faults=thrash)["policies"][name]["total"]
        rows.append({"tau": tau, "cache": cache, "thrash": thrash, **t})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", action="append", default=[], metavar="DIR")
    ap.add_argument("--model", default=None)
    ap.add_argument("--l1-tokens", type=int, default=4000)
    args = ap.parse_args()
    price = model_prices(load_prices(), args.model)
    sweeps = {}
    for label, files in trace_sets(args.traces).items():
        sessions = load_sessions(files)
        report = replay(sessions, l1_tokens=args.l1_tokens, progress=False, price=price)
        print(f"## {label}: {len(sessions)} sessions, L1 {args.l1_tokens:,} tokens, "
              f"{price['model']} prices\n")
        print(format_frontier(report))
        print()
        print(format_classes(report, "default"))
        print()
        sweeps[label] = sweep(sessions, price)
    # One setting for every set: cheapest in total among those at <= 1% faults and <= 5% in the
    # worst session on every set, and cheaper than no paging on every set.
    keys = [(r["tau"], r["cache"], r["thrash"]) for r in next(iter(sweeps.values()))]
    print(f"{'tau':>4}{'cache':>7}{'thrash':>7}" + "".join(
        f"{label[:12]:>14}{'f.rate':>8}{'worst':>7}{'$ saved':>9}" for label in sweeps))
    best = cheapest = None
    for i, key in enumerate(keys):
        cells, ok, pays, cost = "", True, True, 0.0
        for rows in sweeps.values():
            r = rows[i]
            saved = 1 - r["cost_paged"] / r["cost_full"]
            cells += (f"{r['reduction_tokens']:>14.1%}{r['fault_rate']:>8.2%}"
                      f"{r['max_session_fault_rate']:>7.1%}{saved:>9.1%}")
            pays = pays and saved > 0
            ok = ok and r["fault_rate"] <= 0.01
            cost += r["cost_paged"]
        print(f"{key[0]:>4}{str(key[1]):>7}{key[2]:>7}{cells}"
              f"{'  pays' if pays else ''}{'  <=1%' if ok else ''}")
        if pays and ok and (best is None or cost < best[1]):
            best = (key, cost)
        if pays and (cheapest is None or cost < cheapest[1]):
            cheapest = (key, cost)
    print("\n(tau, cache-aware, thrash faults) cheaper than no paging on every set and at <= 1% "
          f"faults on every set: {best[0] if best else None}; cheapest cheaper than no paging on "
          f"every set: {cheapest[0] if cheapest else None}")


if __name__ == "__main__":
    main()
