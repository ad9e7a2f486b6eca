"""Trace replay: how recorded agent sessions would have fared under message-stream paging.

Reads OpenAI message lists, SWE-agent ``.traj`` files (their ``history``), tau-bench
trajectories (a JSON list of sessions with ``traj``) and Anthropic / Claude Code JSONL sessions,
and replays each session under every policy at the same L1 budget in the native core
(``_core.replay_trace``; see ``cpp/include/vmllm/replay.h`` for the exact definitions).

>>> from vmllm.replay import load_sessions, replay
>>> report = replay(load_sessions(["run.traj"]), policies=["tau", "lru", "belady"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import _cli_args as _args
from . import _core
from ._progress import Progress
from .errors import InvalidArgumentError


@dataclass(frozen=True)
class Session:
    """One recorded conversation, as a request body of its wire format."""

    name: str
    wire: str  # "openai" or "anthropic"
    body: str
    messages: int


def sample_traces() -> list[Path]:
    """A small sample of real recorded sessions shipped with vmllm (20 tau-bench airline
    sessions and two SWE-agent sessions, MIT; see ``sample_traces/README.md``), so replay can be
    tried anywhere. The repository's ``data/traces`` holds the full sets."""
    root = Path(__file__).with_name("sample_traces")
    return [root / "tau-bench-gpt-4o-airline-sample.json",
            *sorted((root / "swe-agent").glob("*.traj"))]


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    """The price table: ``prices.json`` shipped with vmllm, or the file at ``path`` (same shape:
    ``{"default": NAME, "models": {NAME: {"input", "cache_write", "cache_read", "output",
    "min_cached_tokens", ...}}}``, USD per million tokens; ``cache_write`` null where the provider
    has no write premium)."""
    source = Path(path) if path else Path(__file__).with_name("prices.json")
    try:
        table = json.loads(source.read_text(encoding="utf-8"))
        models = table["models"]
        for name, m in models.items():
            for field in ("input", "cache_read", "output"):
                if not isinstance(m.get(field), (int, float)) or m[field] < 0:
                    raise ValueError(f"model {name!r}: {field} must be a non-negative number")
            if m.get("cache_write") is not None and not isinstance(m["cache_write"], (int, float)):
                raise ValueError(f"model {name!r}: cache_write must be a number or null")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
            ValueError) as exc:
        raise InvalidArgumentError(f"cannot read price table {source}: {exc}") from exc
    return table


def model_prices(table: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """One model's prices from a table (its ``default`` when ``model`` is None)."""
    name = model or table.get("default", "")
    if name not in table["models"]:
        raise InvalidArgumentError(
            f"unknown model {name!r} in the price table (known: {', '.join(table['models'])})")
    return {"model": name, **table["models"][name]}


# Output tokens of one recall call (the extra request a fault costs).
_RECALL_OUTPUT_TOKENS = 40


def session_cost(r: dict[str, Any], price: dict[str, Any]) -> tuple[float, float]:
    """Dollars (without paging, with paging) of one replayed session under ``price``.

    Each request: the prefix shared with the previous request is a cache read (when at least
    ``min_cached_tokens`` long), the rest a cache write (plain input where ``cache_write`` is
    null); output as recorded. A fault costs one extra request: the paged prefix read from cache,
    the recalled page written, a short recall call as output.
    """
    read, out = price["cache_read"], price["output"]
    write = price["cache_write"] if price.get("cache_write") is not None else price["input"]
    floor = price.get("min_cached_tokens", 0)
    full = paged = 0.0
    for t in r["per_turn"]:
        c_full = t["cached_full"] if t["cached_full"] >= floor else 0
        c_paged = t["cached_paged"] if t["cached_paged"] >= floor else 0
        common = t["output_tokens"] * out
        full += c_full * read + (t["tokens_full"] - c_full) * write + common
        paged += c_paged * read + (t["tokens_paged"] - c_paged) * write + common
        if t["faults"]:
            paged += (t["faults"] * (t["tokens_paged"] * read + _RECALL_OUTPUT_TOKENS * out)
                      + t["fault_tokens"] * write)
    return full / 1e6, paged / 1e6


def is_budgeted(policy: str) -> bool:
    """Whether ``policy`` keeps tool results within the L1 budget (all but the stream policy's
    ``default``, ``tau`` and ``tau-cache``)."""
    return policy not in ("default", "tau", "tau-cache")


def policy_names() -> list[str]:
    """Every policy replay accepts: ``tau``, the eviction policies, and ``belady``."""
    return list(_core.replay_policy_names())


def _openai_message(m: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.get("role", "user"), "content": m.get("content")}
    if isinstance(out["content"], list):
        out["content"] = "\n".join(p.get("text", "") for p in out["content"] if isinstance(p, dict))
    if m.get("tool_calls"):
        out["tool_calls"] = [
            {"id": c.get("id", ""), "type": "function",
             "function": {"name": c["function"]["name"],
                          "arguments": c["function"].get("arguments") or "{}"}}
            for c in m["tool_calls"]
        ]
    if out["role"] == "tool":
        ids = m.get("tool_call_ids") or [m.get("tool_call_id", "")]
        out["tool_call_id"] = ids[0] if ids else ""
    return out


def _swe_agent_messages(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SWE-agent history as OpenAI messages; plain-text actions become tool calls."""
    out: list[dict[str, Any]] = []
    pending: str | None = None  # Call id awaiting its observation (non-function-calling runs).
    for i, m in enumerate(history):
        role = m.get("role")
        if role == "assistant" and not m.get("tool_calls") and m.get("action"):
            action = str(m["action"]).strip()
            pending = f"action_{i}"
            tool = action.split()[0] if action else "bash"
            out.append({"role": "assistant", "content": m.get("content"),
                        "tool_calls": [{"id": pending, "type": "function",
                                        "function": {"name": tool,
                                                     "arguments": json.dumps({"command": action})}}]})
            continue
        if role == "user" and pending is not None:
            out.append({"role": "tool", "tool_call_id": pending, "content": m.get("content")})
            pending = None
            continue
        pending = None
        out.append(_openai_message(m))
    return out


def _anthropic_jsonl(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Claude Code or plain Anthropic JSONL as Messages, merging consecutive same-role lines."""
    messages: list[dict[str, Any]] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        entry = json.loads(line)
        msg = entry.get("message", entry) if isinstance(entry, dict) else None
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            continue
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not blocks:
            continue
        if messages and messages[-1]["role"] == msg["role"]:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": msg["role"], "content": list(blocks)})
    return messages


def load_sessions(paths: Sequence[str | Path]) -> list[Session]:
    """Every session in ``paths``; raises InvalidArgumentError naming a file it cannot read."""
    sessions: list[Session] = []
    for given in paths:
        path = Path(given)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".jsonl":
                msgs = _anthropic_jsonl(text.splitlines())
                sessions.append(Session(path.name, "anthropic", json.dumps({"messages": msgs}), len(msgs)))
                continue
            data = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidArgumentError(f"cannot read trace {path}: {exc}") from exc
        found: list[tuple[str, list[dict[str, Any]]]] = []
        if isinstance(data, dict) and isinstance(data.get("history"), list):
            found.append((path.stem, _swe_agent_messages(data["history"])))
        elif isinstance(data, dict) and isinstance(data.get("messages"), list):
            found.append((path.stem, [_openai_message(m) for m in data["messages"]]))
        elif isinstance(data, list) and data and isinstance(data[0], dict) and "traj" in data[0]:
            for i, s in enumerate(data):
                label = f"{path.stem}#{s.get('task_id', i)}.{s.get('trial', i)}"
                found.append((label, [_openai_message(m) for m in s["traj"]]))
        elif isinstance(data, list) and all(isinstance(m, dict) and "role" in m for m in data):
            found.append((path.stem, [_openai_message(m) for m in data]))
        else:
            raise InvalidArgumentError(f"{path}: not a message list, .traj, tau-bench or JSONL trace")
        for label, msgs in found:
            if msgs:
                sessions.append(Session(label, "openai", json.dumps({"messages": msgs}), len(msgs)))
    return sessions


_SUMMED = ("turns", "tool_results", "evictions", "superseded_evictions", "faults", "bytes_full",
           "bytes_paged", "tokens_full", "tokens_paged", "cache_rewrites", "cache_rewrite_tokens",
           "cost_full", "cost_paged")


def _derived(r: dict[str, Any]) -> dict[str, Any]:
    r["fault_rate"] = r["faults"] / r["evictions"] if r["evictions"] else 0.0
    r["reduction_tokens"] = 1 - r["tokens_paged"] / r["tokens_full"] if r["tokens_full"] else 0.0
    r["reduction_bytes"] = 1 - r["bytes_paged"] / r["bytes_full"] if r["bytes_full"] else 0.0
    if r.get("per_turn"):
        last = r["per_turn"][-1]
        r["reduction_last_turn"] = 1 - last["tokens_paged"] / last["tokens_full"]
    return r


def replay(sessions: Sequence[Session], policies: Sequence[str] | None = None,
           l1_tokens: int = 4000, tau_turns: int = 4, min_evict_bytes: int = 500,
           progress: bool = True, price: dict[str, Any] | None = None,
           equal_page_tokens: int = 0, thrash_faults: int = 1, thrash_window_turns: int = 10,
           thrash_growth: float = 2.0) -> dict[str, Any]:
    """Replays every session under every policy; per-session results and totals per policy.

    Fault rate is faults / evictions, counting every eviction the policy made. Reductions are of
    cumulative input (summed over turns). Per-turn figures are in each session's ``per_turn``.
    Dollars (``cost_full`` / ``cost_paged``) use ``price`` (``model_prices``; default: the
    shipped table's default model). ``thrash_faults`` = 0 turns the fault monitor off.
    """
    if price is None:
        price = model_prices(load_prices())
    cache = (price["cache_write"] if price.get("cache_write") is not None else price["input"],
             price["cache_read"])
    names = list(policies) if policies else policy_names()
    unknown = [p for p in names if p not in policy_names() and not p.startswith("working-set:")]
    if unknown:
        raise InvalidArgumentError(f"unknown policy {unknown[0]!r} (known: {', '.join(policy_names())})")
    bar = Progress(len(sessions) * len(names), "replay", " runs") if progress else None
    per_policy: dict[str, dict[str, Any]] = {}
    for name in names:
        results = []
        for s in sessions:
            r = _core.replay_trace(s.wire, s.body, name, l1_tokens, tau_turns, min_evict_bytes,
                                   equal_page_tokens=equal_page_tokens,
                                   cache_write_price=cache[0], cache_read_price=cache[1],
                                   thrash_window_turns=thrash_window_turns,
                                   thrash_faults=thrash_faults, thrash_growth=thrash_growth)
            r["session"] = s.name
            r["cost_full"], r["cost_paged"] = session_cost(r, price)
            results.append(_derived(r))
            if bar:
                bar.update(1, name)
        total: dict[str, Any] = {k: sum(r[k] for r in results) for k in _SUMMED}
        weight = sum(r["bytes_full"] for r in results) or 1
        total["structural_waste"] = sum(r["structural_waste"] * r["bytes_full"] for r in results) / weight
        size_w = [(r["amplification_full"], r["amplification_paged"], r["tool_results"]) for r in results]
        n = sum(w for _, _, w in size_w) or 1
        total["amplification_full"] = sum(a * w for a, _, w in size_w) / n
        total["amplification_paged"] = sum(b * w for _, b, w in size_w) / n
        total["sessions"] = len(results)
        total["reduction_last_turn"] = (
            sum(r.get("reduction_last_turn", 0.0) for r in results) / len(results) if results else 0.0)
        total["max_session_fault_rate"] = max((r["fault_rate"] for r in results), default=0.0)
        total["classes"] = {c: [sum(r["classes"][c][i] for r in results) for i in (0, 1)]
                            for c in (results[0]["classes"] if results else {})}
        per_policy[name] = {"total": _derived(total), "sessions": results}
    if bar:
        bar.close()
    return {"l1_tokens": l1_tokens, "tau_turns": tau_turns, "min_evict_bytes": min_evict_bytes,
            "equal_page_tokens": equal_page_tokens, "thrash_faults": thrash_faults,
            "price": price, "fault_rate_denominator": "all evictions the policy made",
            "policies": per_policy, "best_per_session": _best_per_session(per_policy)}


def _best_per_session(per_policy: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per session, the budgeted policy with the fewest faults (then the most reduction): with
    pages of unequal size MIN is only a heuristic bound, so this is the floor that was reached."""
    budgeted = [n for n in per_policy if is_budgeted(n)]
    if not budgeted:
        return []
    best = []
    for i, first in enumerate(per_policy[budgeted[0]]["sessions"]):
        name = min(budgeted, key=lambda n: (per_policy[n]["sessions"][i]["faults"],
                                            -per_policy[n]["sessions"][i]["reduction_tokens"]))
        r = per_policy[name]["sessions"][i]
        best.append({"session": first["session"], "policy": name, "faults": r["faults"],
                     "reduction_tokens": r["reduction_tokens"]})
    return best


def format_table(report: dict[str, Any], per_session: bool = False) -> str:
    """A plain-text table, one row per policy (and per session when asked)."""
    head = (f"{'policy':<26}{'sessions':>9}{'turns':>7}{'evict':>7}{'sup':>5}{'faults':>7}"
            f"{'f.rate':>8}{'tok full':>11}{'tok paged':>11}{'red.tok':>8}{'red.B':>7}{'red.last':>9}"
            f"{'waste':>7}{'amp':>6}{'amp.p':>6}{'rewr':>6}{'$ full':>10}{'$ paged':>10}{'$ saved':>8}")
    rows = [head, "-" * len(head)]

    def row(label: str, r: dict[str, Any], sessions: int) -> str:
        saved = 1 - r["cost_paged"] / r["cost_full"] if r["cost_full"] else 0.0
        return (f"{label[:26]:<26}{sessions:>9}{r['turns']:>7}{r['evictions']:>7}"
                f"{r['superseded_evictions']:>5}{r['faults']:>7}"
                f"{r['fault_rate']:>8.2%}{r['tokens_full']:>11,}{r['tokens_paged']:>11,}"
                f"{r['reduction_tokens']:>8.1%}{r['reduction_bytes']:>7.1%}"
                f"{r.get('reduction_last_turn', 0.0):>9.1%}"
                f"{r['structural_waste']:>7.1%}{r['amplification_full']:>6.1f}"
                f"{r['amplification_paged']:>6.1f}{r['cache_rewrites']:>6}"
                f"{r['cost_full']:>10.4f}{r['cost_paged']:>10.4f}{saved:>8.1%}")

    for name, p in report["policies"].items():
        rows.append(row(name, p["total"], p["total"]["sessions"]))
        if per_session:
            for r in p["sessions"]:
                rows.append(row("  " + r["session"][-24:], r, 1))
    equal = report.get("equal_page_tokens", 0)
    rows.append(f"L1 budget {report['l1_tokens']:,} tokens (tau ignores it: age {report['tau_turns']} "
                f"turns, >{report['min_evict_bytes']} B); fault rate = faults / all evictions; "
                "sup: evictions of superseded results (never faults); "
                "red.tok/red.B: cumulative over turns; red.last: last request, mean over sessions; "
                "waste: stale tool-result share of unpaged input; amp/amp.p: resends per result "
                "byte without/with paging; rewr: requests that re-write the prompt cache; "
                f"$: prompt-cache cost at {report['price']['model']} prices")
    if "belady" in report["policies"]:
        if equal:
            rows.append(f"belady: MIN with every page weighing {equal} tokens, where it is optimal.")
        else:
            best = report.get("best_per_session", [])
            rows.append("belady: MIN is a heuristic bound with pages of unequal size; the best "
                        f"budgeted policy per session reaches {sum(b['faults'] for b in best)} "
                        f"faults in all (MIN: {report['policies']['belady']['total']['faults']}).")
    return "\n".join(rows)


def format_frontier(report: dict[str, Any]) -> str:
    """One row per policy: cumulative token reduction, fault rate (overall and worst session) and
    dollars against no paging: the frontier the default policy is chosen from."""
    head = (f"{'policy':<26}{'red.tok':>8}{'f.rate':>8}{'worst':>8}{'$ none':>10}{'$ paged':>10}"
            f"{'$ saved':>9}")
    rows = [head, "-" * len(head)]
    for name, p in report["policies"].items():
        t = p["total"]
        saved = 1 - t["cost_paged"] / t["cost_full"] if t["cost_full"] else 0.0
        rows.append(f"{name[:26]:<26}{t['reduction_tokens']:>8.1%}{t['fault_rate']:>8.2%}"
                    f"{t['max_session_fault_rate']:>8.1%}{t['cost_full']:>10.4f}"
                    f"{t['cost_paged']:>10.4f}{saved:>9.1%}")
    rows.append(f"worst: highest fault rate of one session; $ at {report['price']['model']} prices")
    return "\n".join(rows)


def format_classes(report: dict[str, Any], policy: str) -> str:
    """Cumulative input by content class, without and with ``policy``'s paging."""
    classes = report["policies"][policy]["total"]["classes"]
    total = sum(full for full, _ in classes.values()) or 1
    head = f"{'class':<16}{'tok full':>12}{'share':>7}{'tok paged':>12}{'saved':>7}"
    rows = [f"content classes under {policy}", head, "-" * len(head)]
    for name, (full, paged) in classes.items():
        saved = 1 - paged / full if full else 0.0
        rows.append(f"{name:<16}{full:>12,}{full / total:>7.1%}{paged:>12,}{saved:>7.1%}")
    return "\n".join(rows)


def plot(report: dict[str, Any], path: str | Path, session: str | None = None) -> Path:
    """PNG of context tokens per turn with and without paging, one line per policy.

    Plots ``session`` (by name) or the session with the most turns. Needs matplotlib.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InvalidArgumentError(
            "plotting needs matplotlib: pip install matplotlib (or pip install 'vmllm[notebook]')"
        ) from exc
    policies = report["policies"]
    first = next(iter(policies.values()))["sessions"]
    index = max(range(len(first)), key=lambda i: first[i]["turns"])
    if session is not None:
        index = next(i for i, r in enumerate(first) if r["session"] == session)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    turns = first[index]["per_turn"]
    ax.plot(range(1, len(turns) + 1), [t["tokens_full"] for t in turns], "k-", lw=2.5,
            label="no paging")
    for name, p in policies.items():
        per_turn = p["sessions"][index]["per_turn"]
        ax.plot(range(1, len(per_turn) + 1), [t["tokens_paged"] for t in per_turn], lw=1.2,
                label=name)
    ax.set_xlabel("turn (model call)")
    ax.set_ylabel("context tokens")
    ax.set_title(f"{first[index]['session']}: L1 budget {report['l1_tokens']:,} tokens")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def add_parser(sub: Any) -> None:
    """Adds ``vmllm replay`` to the command line's subparsers."""
    p = sub.add_parser("replay", help="replay recorded agent traces under every paging policy")
    p.add_argument("traces", nargs="+", metavar="TRACE",
                   help=".json (OpenAI list, tau-bench), .traj, .jsonl files")
    p.add_argument("--policy", default="all",
                   help="a policy name or 'all' (default): " + ", ".join(policy_names()))
    p.add_argument("--l1-tokens", type=_args.tokens, default=4000, metavar="N",
                   help="L1 budget for tool results in tokens (default 4000)")
    p.add_argument("--tau", type=_args.turns, default=4, metavar="TURNS",
                   help="age in turns for the tau policy (default 4)")
    p.add_argument("--s-min", type=_args.byte_count, default=500, metavar="BYTES",
                   help="smallest evictable result in bytes (default 500)")
    p.add_argument("--prices", metavar="FILE",
                   help="price table (JSON, like vmllm's prices.json) for the dollar columns")
    p.add_argument("--model", metavar="NAME",
                   help="model in the price table (default: the table's default)")
    p.add_argument("--equal-page-tokens", type=_args.tokens_or_zero, default=0, metavar="N",
                   help="weigh every tool result N tokens in the L1 budget (MIN is then optimal)")
    p.add_argument("--thrash-faults", type=_args.int_in(0, 1000), default=1, metavar="N",
                   help="faults within 10 turns that make the fault monitor pin and grow "
                        "(default 1; 0: off)")
    p.add_argument("--json", action="store_true", help="machine-readable results on stdout")
    p.add_argument("--per-session", action="store_true", help="a row per session too")
    p.add_argument("--plot", metavar="PNG", help="write context tokens per turn to a PNG")
    p.set_defaults(run=run_cli)


def run_cli(args: Any) -> int:
    """Runs ``vmllm replay``."""
    sessions = load_sessions(args.traces)
    if not sessions:
        raise InvalidArgumentError("no sessions found in the given traces")
    policies = None if args.policy == "all" else [args.policy]
    price = model_prices(load_prices(args.prices), args.model)
    report = replay(sessions, policies, args.l1_tokens, args.tau, args.s_min, progress=True,
                    price=price, equal_page_tokens=args.equal_page_tokens,
                    thrash_faults=args.thrash_faults)
    if args.plot:
        print(f"plot: {plot(report, args.plot)}", flush=True)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report, per_session=args.per_session or len(sessions) <= 10))
        print()
        print(format_frontier(report))
        print()
        print(format_classes(report, next(iter(report["policies"]))))
    return 0
