"""The stream layer's rewrite of one request, a session in RAM against one kept in a store.

Usage: PYTHONPATH=python python benchmarks/stream_rewrite.py [--kb 1000] [--repeat 30]

Times ``StreamSession.rewrite`` of the same agent conversation (2 kB tool results, as
proxy_latency.py sends) again and again after a warm-up, for a session without a store and for
one kept in a temporary store, and prints the medians and their ratio.

Then a growing conversation, one new tool exchange per request, as an agent sends it: the
session that saw the previous request (it reuses every unchanged message) against a fresh
session per request (everything parsed and planned anew) and against Python's ``json.loads``
of the same body, all in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy_latency import conversation  # noqa: E402 - beside this file.

import vmllm  # noqa: E402
from vmllm import _core  # noqa: E402


def median_ms(session: object, body: bytes, repeat: int) -> float:
    session.rewrite("openai", body)  # Warm-up: the first request stores every page.
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        session.rewrite("openai", body)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def growing(body: bytes, steps: int) -> list[bytes]:
    """``steps`` requests that each add one read_file exchange to ``body``'s conversation."""
    request = json.loads(body)
    out = []
    for k in range(steps):
        request["messages"] += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"g{k}", "type": "function",
                 "function": {"name": "read_file", "arguments": json.dumps({"path": f"g{k}"})}}]},
            {"role": "tool", "tool_call_id": f"g{k}", "content": f"# g{k}\n" + "x" * 2000}]
        out.append(json.dumps(request).encode())
    return out


def timed_ms(fn: object, items: list[bytes]) -> float:
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    body = conversation(args.kb * 1000)
    ram = median_ms(_core.StreamSession(), body, args.repeat)
    with tempfile.TemporaryDirectory() as path, vmllm.VirtualMemory(path) as vm:
        stored = median_ms(_core.StreamSession(pager=vm._engine, session="bench"), body,
                           args.repeat)
    print(f"request {len(body):,} bytes: in RAM {ram:.2f} ms, in a store {stored:.2f} ms "
          f"(ratio {stored / ram:.2f})")
    bodies = growing(body, args.repeat)
    warm_session = _core.StreamSession()
    warm_session.rewrite("openai", body)
    warm = timed_ms(lambda b: warm_session.rewrite("openai", b), bodies)
    cold = timed_ms(lambda b: _core.StreamSession().rewrite("openai", b), bodies)
    loads = timed_ms(json.loads, bodies)
    print(f"growing conversation, one exchange per request: the session's next request "
          f"{warm:.2f} ms, a fresh session {cold:.2f} ms (ratio {cold / warm:.1f}x), "
          f"json.loads of the body {loads:.2f} ms (rewrite / json.loads {warm / loads:.2f})")


if __name__ == "__main__":
    main()
