"""How often a fact planted early in a long conversation can still be found.

Generates scripted conversations of N turns (a user message and an assistant reply each) with
facts planted at known turns ("Please remember: my locker code is 4417."), among filler that
mentions the same subjects without their values. After the last turn, each fact is asked back
with a paraphrased question, and the script records where its value is:

* window: in a queued message of ``messages()`` (what the model sees without any tool);
* summary: in the recursive summary (the model sees it too);
* conversation_search: in the first page (5 hits) of the ``conversation_search`` tool;
* archival: in the first page of ``archival_memory_search``. The scripted agent archives a user
  message when it says "remember" (a stand-in for a model that follows the pressure warning's
  advice); without such an agent archival storage would be empty;
* any: any of the above.

Baseline in the same run: a plain sliding window of the same token budget (drop the oldest
messages, no summary, no tools), i.e. what a chat without managed memory keeps.

Usage: python tests/bench/conversation_memory_recall.py [--lengths 50 200 1000] [--seeds 3]
       [--window 4000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import defaultdict
from typing import Any

import vmllm
from vmllm import _core

SUBJECTS = [
    ("locker code", "{n4}", "What was my locker code again?"),
    ("sister's name", "{name}", "What is my sister called?"),
    ("flight number", "LX{n3}", "Which flight am I on?"),
    ("favourite tea", "{tea}", "Which tea do I like best?"),
    ("dentist appointment", "March {d}", "When is my dentist appointment?"),
    ("bike lock combination", "{n4}", "What opens my bike lock?"),
    ("landlord's phone extension", "{n3}", "What is the landlord's extension?"),
    ("wifi password", "{word}{n3}", "What's the wifi password at home?"),
    ("hotel in Kyoto", "the {name} Inn", "Where am I staying in Kyoto?"),
    ("project codename", "{word}-{n3}", "What is the project codename?"),
]
NAMES = ["Mira", "Odile", "Tomasz", "Ines", "Kofi", "Yara", "Bjorn", "Lucia", "Arjun", "Noor"]
# Disjoint from NAMES, so a planted value never turns up in filler by chance.
FILLER_NAMES = ["Pavel", "Greta", "Hamid", "Sunita", "Rafael", "Keiko", "Owen", "Zanele"]
TEAS = ["genmaicha", "sencha", "oolong", "rooibos", "darjeeling", "hojicha", "pu-erh"]
WORDS = ["harbor", "violet", "quartz", "ember", "maple", "canvas", "orbit", "lantern", "pepper"]
# Filler carries names and numbers too, so a summary cannot keep facts just for having them.
FILLER = [
    "I spent {n} minutes sorting the {thing} with {name} and it took longer than planned.",
    "The weather turned again, so the {thing} plans moved to the {d}th.",
    "Can you suggest a quick dinner with {thing} and whatever is left in the fridge?",
    "My colleague {name} asked about the {subject} thing yesterday, no idea why.",
    "Remind me later to look at the {thing} budget of {n} euros, not now though.",
    "I keep mixing up the {subject} with something else, funny how that goes.",
    "Traffic was terrible and the {thing} meeting in room {n} ran over by {d} minutes.",
    "Do you think I should reorganise the {thing} shelf this weekend?",
]
THINGS = ["garden", "bookshelf", "tax", "kitchen", "travel", "photo", "inbox", "gym", "laundry"]
REPLIES = [
    "That sounds like a long day; maybe split it into two shorter sessions.",
    "Sure, I can help with that whenever you are ready.",
    "Good idea. A short list usually makes this kind of task easier.",
    "Noted. Let me know if you want me to go over it in more detail.",
    "Understood. Small steps tend to work better than one big push.",
]


def fact_value(template: str, rng: random.Random) -> str:
    return template.format(n4=rng.randint(1000, 9999), n3=rng.randint(100, 999),
                           name=rng.choice(NAMES), tea=rng.choice(TEAS), d=rng.randint(2, 28),
                           word=rng.choice(WORDS))


def make_conversation(turns: int, seed: int, facts: int = 5) -> tuple[list[str], list[dict]]:
    """User messages for `turns` turns and the planted facts ({turn, subject, value, question})."""
    rng = random.Random(seed)
    planted_turns = sorted(rng.sample(range(turns), min(facts, turns)))
    subjects = rng.sample(SUBJECTS, len(planted_turns))
    planted: list[dict] = []
    users = []
    for t in range(turns):
        if len(planted) < len(planted_turns) and t == planted_turns[len(planted)]:
            subject, template, question = subjects[len(planted)]
            value = fact_value(template, rng)
            planted.append({"turn": t, "subject": subject, "value": value, "question": question})
            users.append(f"Please remember: my {subject} is {value}.")
        else:
            subject = rng.choice(SUBJECTS)[0]
            users.append(rng.choice(FILLER).format(
                thing=rng.choice(THINGS), subject=subject, name=rng.choice(FILLER_NAMES),
                n=rng.randint(10, 999), d=rng.randint(2, 28)))
    return users, planted


def run_managed(users: list[str], planted: list[dict], window: int, rng: random.Random) -> dict:
    memory = vmllm.ConversationMemory(window_tokens=window, system=(
        "You are a personal assistant with long-term memory. Use your memory tools."),
        blocks={"human": "", "persona": "I am a helpful assistant."})
    call_id = 0
    try:
        for t, text in enumerate(users):
            memory.append({"role": "user", "content": text})
            if "remember" in text.lower() and text.startswith("Please remember"):
                call_id += 1
                c = {"id": f"a{call_id}", "type": "function", "function": {
                    "name": "archival_memory_insert", "arguments": json.dumps({"content": text})}}
                memory.append({"role": "assistant", "content": None, "tool_calls": [c]})
                memory.execute(c)
            memory.append({"role": "assistant", "content": rng.choice(REPLIES)})
            assert memory.context_tokens() <= window
        messages = memory.messages()
        summary = messages[1]["content"] if len(messages) > 1 and messages[1]["content"] \
            .startswith("Summary of the earlier conversation") else ""
        queued = [m.get("content") or "" for m in messages if m is not messages[0]]
        results = []
        for fact in planted:
            call_id += 1
            out = {}
            out["window"] = any(fact["value"] in q for q in queued if not q.startswith("Summary"))
            out["summary"] = fact["value"] in summary
            for tool in ("conversation_search", "archival_memory_search"):
                c = {"id": f"q{call_id}", "type": "function", "function": {
                    "name": tool, "arguments": json.dumps({"query": fact["question"]})}}
                r = memory.execute(c, append=False)
                out[tool] = any(fact["value"] in h["content"] for h in r.content["results"])
            results.append(out)
        return {"results": results, "stats": memory.stats()}
    finally:
        memory.close()


def run_sliding(users: list[str], planted: list[dict], window: int,
                rng: random.Random) -> list[bool]:
    """Baseline: keep the newest messages that fit the same budget; nothing else."""
    kept: list[str] = []
    cost = 0
    for text in users:
        for m in ({"role": "user", "content": text},
                  {"role": "assistant", "content": rng.choice(REPLIES)}):
            j = json.dumps(m, sort_keys=True, separators=(",", ":"))
            kept.append(j)
            cost += _core.message_tokens(j)
            while cost > window:
                cost -= _core.message_tokens(kept.pop(0))
    return [any(f["value"] in k for k in kept) for f in planted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--window", type=int, default=4000)
    parser.add_argument("--facts", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    keys = ["window", "summary", "conversation_search", "archival_memory_search", "any",
            "any_without_archival"]
    table = []
    for length in args.lengths:
        counts: dict[str, int] = defaultdict(int)
        total = 0
        sliding_hits = 0
        flushes = 0
        started = time.perf_counter()
        for seed in range(args.seeds):
            users, planted = make_conversation(length, seed * 1000 + length, args.facts)
            managed = run_managed(users, planted, args.window, random.Random(seed))
            sliding = run_sliding(users, planted, args.window, random.Random(seed))
            flushes += managed["stats"]["flushes"]
            for r, s in zip(managed["results"], sliding):
                r["any"] = any(r[k] for k in keys[:4])
                r["any_without_archival"] = any(r[k] for k in keys[:3])
                for k in keys:
                    counts[k] += bool(r[k])
                sliding_hits += s
                total += 1
        row = {"turns": length, "facts": total, "flushes_per_conversation": flushes / args.seeds,
               "sliding_window": sliding_hits / total,
               **{k: counts[k] / total for k in keys},
               "seconds": time.perf_counter() - started}
        table.append(row)
    print(f"window={args.window} tokens, {args.seeds} conversations per length, "
          f"{args.facts} facts each; python {platform.python_version()}, {platform.machine()}")
    header = ["turns", "facts", "flushes", "sliding window (baseline)", "in window",
              "in summary", "conversation_search p0", "archival_memory_search p0", "any",
              "any but archival", "s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in table:
        print(f"| {r['turns']} | {r['facts']} | {r['flushes_per_conversation']:.1f} | "
              f"{r['sliding_window']:.0%} | {r['window']:.0%} | {r['summary']:.0%} | "
              f"{r['conversation_search']:.0%} | {r['archival_memory_search']:.0%} | "
              f"{r['any']:.0%} | {r['any_without_archival']:.0%} | {r['seconds']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
