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


_SUMMED = ("turns", "tool_results", "evictions", "faults", "bytes_full", "bytes_paged",
           "tokens_full", "tokens_paged", "cache_rewrites", "cache_rewrite_tokens")


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
           progress: bool = True) -> dict[str, Any]:
    """Replays every session under every policy; per-session results and totals per policy.

    Fault rate is faults / evictions, counting every eviction the policy made. Reductions are of
    cumulative input (summed over turns). Per-turn figures are in each session's ``per_turn``.
    """
    names = list(policies) if policies else policy_names()
    unknown = [p for p in names if p not in policy_names() and not p.startswith("working-set:")]
    if unknown:
        raise InvalidArgumentError(f"unknown policy {unknown[0]!r} (known: {', '.join(policy_names())})")
    bar = Progress(len(sessions) * len(names), "replay", " runs") if progress else None
    per_policy: dict[str, dict[str, Any]] = {}
    for name in names:
        results = []
        for s in sessions:
            r = _core.replay_trace(s.wire, s.body, name, l1_tokens, tau_turns, min_evict_bytes)
            r["session"] = s.name
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
        per_policy[name] = {"total": _derived(total), "sessions": results}
    if bar:
        bar.close()
    return {"l1_tokens": l1_tokens, "tau_turns": tau_turns, "min_evict_bytes": min_evict_bytes,
            "fault_rate_denominator": "all evictions the policy made", "policies": per_policy}


def format_table(report: dict[str, Any], per_session: bool = False) -> str:
    """A plain-text table, one row per policy (and per session when asked)."""
    head = (f"{'policy':<26}{'sessions':>9}{'turns':>7}{'evict':>7}{'faults':>7}{'f.rate':>8}"
            f"{'tok full':>11}{'tok paged':>11}{'red.tok':>8}{'red.B':>7}{'red.last':>9}{'waste':>7}"
            f"{'amp':>6}{'amp.p':>6}{'rewr':>6}")
    rows = [head, "-" * len(head)]

    def row(label: str, r: dict[str, Any], sessions: int) -> str:
        return (f"{label[:26]:<26}{sessions:>9}{r['turns']:>7}{r['evictions']:>7}{r['faults']:>7}"
                f"{r['fault_rate']:>8.2%}{r['tokens_full']:>11,}{r['tokens_paged']:>11,}"
                f"{r['reduction_tokens']:>8.1%}{r['reduction_bytes']:>7.1%}"
                f"{r.get('reduction_last_turn', 0.0):>9.1%}"
                f"{r['structural_waste']:>7.1%}{r['amplification_full']:>6.1f}"
                f"{r['amplification_paged']:>6.1f}{r['cache_rewrites']:>6}")

    for name, p in report["policies"].items():
        rows.append(row(name, p["total"], p["total"]["sessions"]))
        if per_session:
            for r in p["sessions"]:
                rows.append(row("  " + r["session"][-24:], r, 1))
    rows.append(f"L1 budget {report['l1_tokens']:,} tokens (tau ignores it: age {report['tau_turns']} "
                f"turns, >{report['min_evict_bytes']} B); fault rate = faults / all evictions; "
                "red.tok/red.B: cumulative over turns; red.last: last request, mean over sessions; "
                "waste: stale tool-result share of unpaged input; amp/amp.p: resends per result "
                "byte without/with paging; rewr: requests that re-write the prompt cache")
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
    report = replay(sessions, policies, args.l1_tokens, args.tau, args.s_min, progress=True)
    if args.plot:
        print(f"plot: {plot(report, args.plot)}", flush=True)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report, per_session=args.per_session or len(sessions) <= 10))
    return 0
