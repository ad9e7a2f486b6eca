"""Evidence recall at a fixed token budget (issue 16): does one search put what a question needs
into the window?

Two corpora, each split in two: settings are tuned on the ``tune`` half and the ``report`` half
is what counts (both are printed).

LoCoMo long conversations (``--locomo``; CC BY-NC 4.0, never in this repository), both ways in:

* document path: the conversation is ingested as one document, a line per turn
  ("<speaker>: <text>", a header line per session with its date); before each question L1
  (``--window`` tokens) is emptied, then ``fault(question, n)`` with ``n`` = as many pages as
  the window holds. A question counts when every one of its evidence turns is whole in
  ``build_context()``.
* conversation path: every turn appended to a ``ConversationMemory`` (``--window`` tokens);
  the question counts when each evidence turn is in ``messages()`` or on page 0 of
  ``search_recall(question)``, its hits or their context turns (what the model gets from one
  ``conversation_search`` call).

Halves: the conversations in file order, the first ``len // 2`` tune, the rest report.

Python standard library (``--stdlib``): the ``"what does function X do"`` questions of
``retrieval_quality.py`` (hit@3 of ``semantic_find``), even-numbered questions tune, odd ones
report; plus name lookups: ``semantic_find("<module>")`` should return a page of
``<module>.py`` first.

Usage: PYTHONPATH=python python tests/bench/retrieval_recall.py --locomo locomo-dev.json
       [--stdlib] [--page-tokens 100 200] [--embedder hashing|wordllama] [--json out.json]
       [--smoke] (two synthetic conversations, for CI: no data needed)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any, Callable, Optional

import vmllm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def sessions(conversation: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(date, turns) per session, in order."""
    numbers = sorted(int(key.split("_")[1]) for key, value in conversation.items()
                     if key.startswith("session_") and isinstance(value, list))
    return [(str(conversation.get(f"session_{n}_date_time", "")), conversation[f"session_{n}"])
            for n in numbers]


def turn_text(turn: dict[str, Any]) -> str:
    text = f"{turn['speaker']}: {turn['text']}"
    if turn.get("blip_caption"):
        text += f" [shares {turn['blip_caption']}]"
    return " ".join(text.split())  # One line.


def evidence(question: dict[str, Any]) -> list[str]:
    out = []
    for e in question.get("evidence", []):
        out.extend(part.strip() for part in str(e).split(";"))
    return out


def questions_of(sample: dict[str, Any], lines: dict[str, str]
                 ) -> list[tuple[str, list[str]]]:
    """(question, evidence lines) of the questions with evidence (category 5 has none)."""
    out = []
    for q in sample["qa"]:
        if q.get("category") == 5:
            continue
        gold = [lines[e] for e in evidence(q) if e in lines]
        if gold:
            out.append((q["question"], gold))
    return out


def document_path(sample: dict[str, Any], window: int, page_tokens: int, embedder: Any
                  ) -> list[bool]:
    conv = sample["conversation"]
    lines: dict[str, str] = {}
    doc = []
    for number, (date, turns) in enumerate(sessions(conv), start=1):
        doc.append(f"Session {number}, {date}" if date else f"Session {number}")
        for turn in turns:
            lines[turn["dia_id"]] = turn_text(turn)
            doc.append(lines[turn["dia_id"]])
    qs = questions_of(sample, lines)
    with tempfile.TemporaryDirectory() as tmp, vmllm.VirtualMemory(
            os.path.join(tmp, "store"), l1_tokens=window, page_tokens=page_tokens,
            embedder=embedder) as vm:
        vm.ingest(f"{sample['sample_id']}.txt", "\n".join(doc) + "\n")
        n = max(1, window // page_tokens)
        found = []
        for question, gold in qs:
            for page in vm.active_pages():
                vm.release_page(page, compress=False)
            vm.fault(question, n=n)
            context = vm.build_context()
            found.append(all(g in context for g in gold))
        return found


PAGE_TOKENS: list[int] = []  # Tokens of each page 0 the conversation path read (chars / 4).


def conversation_path(sample: dict[str, Any], window: int, embedder: Any) -> list[bool]:
    conv = sample["conversation"]
    speaker_a = conv["speaker_a"]
    lines: dict[str, str] = {}
    memory = vmllm.ConversationMemory(window_tokens=window, system="You are a helpful assistant.",
                                      embedder=embedder)
    try:
        for _, turns in sessions(conv):
            for turn in turns:
                lines[turn["dia_id"]] = turn_text(turn)
                role = "user" if turn["speaker"] == speaker_a else "assistant"
                memory.append({"role": role, "content": lines[turn["dia_id"]]})
        in_window = "\n".join(str(m.get("content", "")) for m in memory.messages())
        found = []
        for question, gold in questions_of(sample, lines):
            result = memory.search_recall(question)
            page = "\n".join(h["content"] for h in result["hits"] + result.get("context", []))
            PAGE_TOKENS.append(len(page) // 4)
            found.append(all(g in in_window or g in page for g in gold))
        return found
    finally:
        memory.close()


def split(samples: list[Any]) -> dict[str, list[Any]]:
    half = len(samples) // 2
    return {"tune": samples[:half], "report": samples[half:]}


def rate(results: list[list[bool]]) -> tuple[float, int]:
    flat = [x for r in results for x in r]
    return (sum(flat) / len(flat) if flat else 0.0), len(flat)


def run_locomo(samples: list[dict[str, Any]], window: int, page_sizes: list[int],
               embedder: Any, table: dict[str, Any]) -> None:
    halves = split(samples)
    print(f"LoCoMo: {len(samples)} conversations; tune = "
          f"{[s['sample_id'] for s in halves['tune']]}, report = "
          f"{[s['sample_id'] for s in halves['report']]}; window {window} tokens")
    print("| way in | setting | tune | report |")
    print("|---|---|---|---|")
    for page_tokens in page_sizes:
        row = {}
        for half, group in halves.items():
            row[half] = rate([document_path(s, window, page_tokens, embedder) for s in group])
        table[f"document, pages of {page_tokens}"] = row
        print(f"| document: one fault | pages of {page_tokens} tokens, n = "
              f"{max(1, window // page_tokens)} | {row['tune'][0]:.3f} ({row['tune'][1]}) | "
              f"{row['report'][0]:.3f} ({row['report'][1]}) |", flush=True)
    row = {half: rate([conversation_path(s, window, embedder) for s in group])
           for half, group in halves.items()}
    table["conversation"] = row
    tokens = sorted(PAGE_TOKENS)[len(PAGE_TOKENS) // 2] if PAGE_TOKENS else 0
    print(f"| conversation: window + page 0 | conversation_search (page 0 median ~{tokens} "
          f"tokens) | {row['tune'][0]:.3f} "
          f"({row['tune'][1]}) | {row['report'][0]:.3f} ({row['report'][1]}) |", flush=True)


def run_stdlib(count: int, embedder: Any, table: dict[str, Any]) -> None:
    import retrieval_quality as rq

    files = rq.stdlib_files()
    with tempfile.TemporaryDirectory() as tmp, vmllm.VirtualMemory(
            os.path.join(tmp, "store"), l1_tokens=6000, page_tokens=2000,
            embedder=embedder) as vm:
        defs = rq.build(vm, files)
        qs = [q for q in rq.questions(defs, count) if q.style == "name"]
        row = {}
        for half, subset in (("tune", qs[0::2]), ("report", qs[1::2])):
            hits = sum(q.page_id in vm.semantic_find(q.query, n=3) for q in subset)
            row[half] = (hits / len(subset), len(subset))
        modules = [os.path.basename(f)[:-3] for f in files]
        named = sum(bool(hits) and hits[0].startswith(f"{m}.py")
                    for m in modules for hits in [vm.semantic_find(m, n=1)])
    table["stdlib what does X do hit@3"] = row
    table["stdlib module name, top 1"] = named / len(modules)
    print(f'| stdlib: "what does function X do" | hit@3 | {row["tune"][0]:.3f} '
          f'({row["tune"][1]}) | {row["report"][0]:.3f} ({row["report"][1]}) |')
    print(f"| stdlib: module name finds its file | top 1 | {named / len(modules):.3f} "
          f"({len(modules)} modules, not split) | |")


def smoke_samples() -> list[dict[str, Any]]:
    """Two small synthetic conversations with known evidence (for CI)."""
    out = []
    for c, (a, b, pet, city) in enumerate((("Ana", "Ben", "parrot", "Lisbon"),
                                           ("Cleo", "Dan", "tortoise", "Oslo"))):
        conv: dict[str, Any] = {"speaker_a": a, "speaker_b": b}
        filler = [f"{a if i % 2 == 0 else b}: we talked about the weather and work, day {i}"
                  for i in range(40)]
        turns = []
        for i, text in enumerate(filler):
            speaker, _, said = text.partition(": ")
            turns.append({"speaker": speaker, "dia_id": f"D1:{i + 1}", "text": said})
        turns.insert(7, {"speaker": a, "dia_id": "D1:pet", "text": f"I adopted a {pet} today"})
        turns.insert(30, {"speaker": b, "dia_id": "D1:city", "text": f"I moved to {city}"})
        conv["session_1"], conv["session_1_date_time"] = turns, "1 May 2023"
        out.append({"sample_id": f"smoke-{c}", "conversation": conv, "qa": [
            {"question": f"What pet did {a} adopt?", "evidence": ["D1:pet"], "category": 1},
            {"question": f"Where did {b} move to?", "evidence": ["D1:city"], "category": 1}]})
    return out


def resolve_embedder(name: str) -> Any:
    if name == "hashing":
        return "hashing"
    if name == "wordllama":
        import pathlib

        import wordllama

        # The weights and tokenizer ship inside the wheel; their loader looks for the
        # tokenizer in the wrong folder unless pointed at the package as its cache.
        model = wordllama.WordLlama.load(cache_dir=pathlib.Path(wordllama.__file__).parent,
                                         disable_download=True)
        embed: Callable[[list[str]], Any] = lambda texts: model.embed(texts).tolist()
        return embed
    raise SystemExit(f"unknown embedder {name!r}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", default=os.environ.get("VMLLM_LOCOMO"))
    parser.add_argument("--stdlib", action="store_true", help="also the stdlib questions")
    parser.add_argument("--questions", type=int, default=300, help="stdlib questions")
    parser.add_argument("--window", type=int, default=4000)
    parser.add_argument("--page-tokens", type=int, nargs="+", default=[200])
    parser.add_argument("--embedder", default="hashing")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    embedder = resolve_embedder(args.embedder)
    table: dict[str, Any] = {}
    started = time.perf_counter()
    if args.smoke:
        samples = smoke_samples()
    elif args.locomo and os.path.exists(args.locomo):
        with open(args.locomo, encoding="utf-8") as f:
            samples = json.load(f)
    else:
        samples = []
        print("LoCoMo not found: pass --locomo PATH or set $VMLLM_LOCOMO")
    if samples:
        run_locomo(samples, args.window, args.page_tokens, embedder, table)
    if args.stdlib:
        run_stdlib(args.questions, embedder, table)
    print(f"{time.perf_counter() - started:.1f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(table, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
