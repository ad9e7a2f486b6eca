"""Recall search over real long conversations (LoCoMo): which fusion of BM25 and vectors finds
the evidence turns of a question.

Each LoCoMo conversation (two speakers, 19-32 sessions, 369-680 turns) is appended to a
``ConversationMemory`` turn by turn (speaker A as the user, B as the assistant, the content
"<speaker>: <text>", plus the caption of a shared photo). Then every question with evidence
(categories 1-4; category 5 is adversarial, without evidence) is asked of ``search_recall``
and scored on the turns LoCoMo names as its evidence:

* hit@5: an evidence turn is in the first 5 hits (page 0 of ``conversation_search``);
* recall@5: the share of the evidence turns in the first 5 hits;
* MRR: 1 / the rank of the first evidence turn (0 beyond the 100 candidates).

The BM25 list and the vector list (100 candidates each, the engine's own) are fetched once per
question with ``mode="keyword"`` and ``mode="vector"``; each fusion setting is then applied here
with the same rule as ``cpp/src/util/rank_fusion.cc`` (weight / (k + rank), ties in order of
first appearance, BM25's list first). ``mode="hybrid"`` (what the library ships) is scored too,
and the script checks that it finds as much as the setting named by ``--shipped`` (the engine
fuses longer candidate lists than the 100 fetched here, so the lists themselves differ in
places).

LoCoMo is CC BY-NC 4.0 and never enters this repository: pass its JSON by ``--locomo`` or
``$VMLLM_LOCOMO``. Without it the script says so and exits 0.

Usage: PYTHONPATH=python python tests/bench/locomo_recall.py [--locomo locomo-dev.json]
       [--settings 60:1 10:3 ...] [--shipped 10:3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Optional

import vmllm

CANDIDATES = 100  # Per list, as memory_search.cc's kCandidates.
TOP = 5           # conversation_search's page size.
DEFAULT_SETTINGS = ["60:1", "10:3", "60:3", "10:1", "10:2", "30:2"]


def fuse(keyword: list[int], vector: list[int], k: float, keyword_weight: float) -> list[int]:
    """rank_fusion.cc's FuseRanks over (BM25 list, weight w) and (vector list, weight 1)."""
    score: dict[int, float] = {}
    for ids, weight in ((keyword, keyword_weight), (vector, 1.0)):
        seen: set[int] = set()
        rank = 0
        for i in ids:
            if i in seen:
                continue
            seen.add(i)
            rank += 1
            score[i] = score.get(i, 0.0) + weight / (k + rank)
    order = list(score)  # Dicts keep insertion order: first appearance.
    order.sort(key=lambda i: -score[i])  # Stable.
    return order


def turns(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    sessions = sorted((int(key.split("_")[1]), value) for key, value in conversation.items()
                      if key.startswith("session_") and isinstance(value, list))
    return [turn for _, session in sessions for turn in session]


def evidence_ids(question: dict[str, Any]) -> list[str]:
    out = []
    for e in question.get("evidence", []):
        out.extend(part.strip() for part in str(e).split(";"))
    return out


def ranked_ids(memory: vmllm.ConversationMemory, query: str, mode: str) -> list[int]:
    return [h["id"] for h in memory.search_recall(query, mode=mode)["hits"]]


def score(ranked: list[int], gold: set[int]) -> tuple[float, float, float]:
    top = ranked[:TOP]
    hit = float(any(i in gold for i in top))
    recall = sum(i in gold for i in top) / len(gold)
    rr = next((1.0 / (r + 1) for r, i in enumerate(ranked) if i in gold), 0.0)
    return hit, recall, rr


def run_conversation(sample: dict[str, Any], settings: list[tuple[float, float]]
                     ) -> dict[str, Any]:
    conv = sample["conversation"]
    speaker_a = conv["speaker_a"]
    memory = vmllm.ConversationMemory(window_tokens=8000, system="You are a helpful assistant.",
                                      page_size=CANDIDATES)
    try:
        by_dia: dict[str, int] = {}
        for turn in turns(conv):
            text = f"{turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                text += f" [shares {turn['blip_caption']}]"
            role = "user" if turn["speaker"] == speaker_a else "assistant"
            by_dia[turn["dia_id"]] = memory.append({"role": role, "content": text})["message_id"]
        rows: dict[str, list[tuple[float, float, float]]] = {}
        questions = 0
        for q in sample["qa"]:
            if q.get("category") == 5:
                continue
            gold = {by_dia[e] for e in evidence_ids(q) if e in by_dia}
            if not gold:
                continue
            questions += 1
            keyword = ranked_ids(memory, q["question"], "keyword")
            vector = ranked_ids(memory, q["question"], "vector")
            hybrid = ranked_ids(memory, q["question"], "hybrid")
            rows.setdefault("keyword", []).append(score(keyword, gold))
            rows.setdefault("vector", []).append(score(vector, gold))
            rows.setdefault("hybrid (shipped)", []).append(score(hybrid, gold))
            for k, w in settings:
                fused = fuse(keyword, vector, k, w)
                rows.setdefault(name(k, w), []).append(score(fused, gold))
                rows.setdefault(f"agree {name(k, w)}", []).append(
                    (float(fused[:TOP] == hybrid[:TOP]), 0.0, 0.0))
        means = {key: tuple(sum(col) / len(col) for col in zip(*vals))
                 for key, vals in rows.items()}
        return {"sample_id": sample["sample_id"], "turns": len(by_dia),
                "questions": questions, "means": means}
    finally:
        memory.close()


def name(k: float, w: float) -> str:
    return f"k={k:g}, BM25 {w:g}:1"


def parse_setting(text: str) -> tuple[float, float]:
    k, _, w = text.partition(":")
    return float(k), float(w or 1)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", default=os.environ.get("VMLLM_LOCOMO"),
                        help="LoCoMo JSON (default: $VMLLM_LOCOMO)")
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS,
                        help="fusion settings as k:keyword_weight")
    parser.add_argument("--shipped", default=None,
                        help="k:keyword_weight the library's hybrid mode should equal")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if not args.locomo or not os.path.exists(args.locomo):
        print("LoCoMo not found: pass --locomo PATH or set $VMLLM_LOCOMO (it is not in this "
              "repository; see data/README.md)")
        return 0
    settings = [parse_setting(s) for s in args.settings]
    if args.shipped and parse_setting(args.shipped) not in settings:
        settings.append(parse_setting(args.shipped))
    with open(args.locomo, encoding="utf-8") as f:
        samples = json.load(f)
    started = time.perf_counter()
    convs = [run_conversation(s, settings) for s in samples]
    seconds = time.perf_counter() - started
    methods = ["keyword", "vector", "hybrid (shipped)"] + [name(k, w) for k, w in settings]
    total = sum(c["questions"] for c in convs)
    print(f"{len(convs)} conversations, {total} questions with evidence, "
          f"{sum(c['turns'] for c in convs)} turns; {seconds:.1f} s")
    ids = [c["sample_id"] for c in convs]
    print("| method | hit@5 | recall@5 | MRR | hit@5 per conversation (" + ", ".join(ids) +
          ") | min–max |")
    print("|---|---|---|---|---|---|")
    table = []
    for m in methods:
        # Micro-averaged over all questions; per conversation: its own mean.
        overall = [sum(c["means"][m][j] * c["questions"] for c in convs) / total
                   for j in range(3)]
        per = [c["means"][m][0] for c in convs]
        table.append({"method": m, "hit@5": overall[0], "recall@5": overall[1],
                      "mrr": overall[2], "hit@5 per conversation": dict(zip(ids, per))})
        print(f"| {m} | {overall[0]:.3f} | {overall[1]:.3f} | {overall[2]:.3f} | "
              + " / ".join(f"{p:.3f}" for p in per)
              + f" | {max(per) - min(per):.3f} (sd {statistics.pstdev(per):.3f}) |")
    if args.shipped:
        named = name(*parse_setting(args.shipped))
        key = f"agree {named}"
        agree = sum(c["means"][key][0] * c["questions"] for c in convs) / total
        shipped, expected = (next(r["hit@5"] for r in table if r["method"] == m)
                             for m in ("hybrid (shipped)", named))
        print(f"hybrid mode has the first {TOP} hits of {named} on {agree:.1%} of the "
              f"questions; hit@5 {shipped:.3f} vs {expected:.3f}")
        # The engine fuses its own, longer candidate lists (and drops vector hits pointing away
        # from the query), so the lists differ in places; what must hold is the quality.
        if shipped < expected - 0.01:
            print("MISMATCH: the shipped fusion finds less than the named setting",
                  file=sys.stderr)
            return 1
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"conversations": convs, "table": table}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
