"""Benchmark: VirtualMemoryMiddleware against the same create_agent without it.

A scripted operations conversation (one long tool result per turn, then a question about the
first one, which must be faulted back) runs twice in one process: without vmllm (the baseline)
and with VirtualMemoryMiddleware. Reports request tokens (what a provider would bill) and wall
time per turn, each as a ratio to the baseline.

    python benchmarks/middleware_paging.py [--turns 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

import vmllm
from vmllm.integrations.langchain import VirtualMemoryMiddleware
from vmllm.integrations.langchain_middleware import count_tokens
from vmllm.integrations.scripted import ScriptedChatModel


@tool
def read_log(service: str) -> str:
    """Read the last hour of a service's log."""
    seed = sum(map(ord, service)) % 6 + 1
    return "".join(f"{service} 12:{i:02d} {'ERROR' if (i * seed) % 7 == 0 else 'INFO'} "
                   f"request {i * seed} took {(i * seed) % 90 + 10} ms\n" for i in range(40))


def policy(messages: list[BaseMessage]) -> Any:
    """Read when asked; answer from a result; recall a result that was paged out (the recall
    restores it in place, so the answer then reads it where it was)."""
    last = messages[-1]
    if last.type == "tool" and last.name != "vmllm_recall":
        return f"{last.content.split(' ', 1)[0]}: {last.content.count(' ERROR ')} errors."
    question = next(m for m in reversed(messages) if m.type == "human")
    service = str(question.content).rstrip("?").split()[-1]
    if str(question.content).startswith("Read"):
        return AIMessage("", tool_calls=[{"name": "read_log", "args": {"service": service},
                                          "id": f"read_{service}"}])
    result = next(m for m in messages
                  if m.type == "tool" and m.tool_call_id == f"read_{service}")
    paged = re.match(r"\[vmllm: paged out (p-[0-9a-f]+):", str(result.content))
    if paged:
        return AIMessage("", tool_calls=[{"name": "vmllm_recall", "id": f"recall_{service}",
                                          "args": {"page_ids": [paged.group(1)]}}])
    return f"{service}: {str(result.content).count(' ERROR ')} errors."


def run(turns: int, with_vmllm: bool) -> tuple[list[int], float, str]:
    """One conversation; returns request tokens per model call, seconds, final answer."""
    questions = [f"Read the log of svc{i}" for i in range(turns)]
    questions.append("How many errors were in the log of svc0?")
    model = ScriptedChatModel(script=[policy], repeat_last=True)
    with vmllm.VirtualMemory(l1_tokens=4000, page_tokens=1000) as vm:
        middleware = [VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)] \
            if with_vmllm else []
        agent = create_agent(model, tools=[read_log], middleware=middleware,
                             checkpointer=InMemorySaver())
        config = {"configurable": {"thread_id": "bench"}}
        start = time.perf_counter()
        for question in questions:
            state = agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
        seconds = time.perf_counter() - start
    return [count_tokens(r) for r in model.requests], seconds, state["messages"][-1].content


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    times: dict[bool, list[float]] = {False: [], True: []}
    tokens: dict[bool, list[int]] = {}
    answers: dict[bool, str] = {}
    for _ in range(args.repeat):
        for with_vmllm in (False, True):  # interleaved, so drift hits both alike
            tokens[with_vmllm], seconds, answers[with_vmllm] = run(args.turns, with_vmllm)
            times[with_vmllm].append(seconds)
    assert answers[False] == answers[True], answers
    base, paged = tokens[False], tokens[True]
    t_base, t_paged = statistics.median(times[False]), statistics.median(times[True])
    result = {
        "turns": float(args.turns + 1),
        "request_tokens_baseline": float(sum(base)),
        "request_tokens_vmllm": float(sum(paged)),
        "request_tokens_ratio": sum(paged) / sum(base),
        "last_request_ratio": paged[-1] / base[-1],
        "seconds_per_turn_baseline": t_base / (args.turns + 1),
        "seconds_per_turn_vmllm": t_paged / (args.turns + 1),
        "time_ratio": t_paged / t_base,
    }
    print(f"{args.turns + 1} turns, median of {args.repeat} runs; answer: {answers[True]!r}")
    print(f"request tokens, whole session: {sum(base):,} -> {sum(paged):,} "
          f"(ratio {result['request_tokens_ratio']:.3f})")
    print(f"last request: {base[-1]:,} -> {paged[-1]:,} tokens "
          f"(ratio {result['last_request_ratio']:.3f})")
    print(f"wall time per turn: {result['seconds_per_turn_baseline'] * 1e3:.2f} ms -> "
          f"{result['seconds_per_turn_vmllm'] * 1e3:.2f} ms (ratio {result['time_ratio']:.2f})")
    return result


if __name__ == "__main__":
    main()
