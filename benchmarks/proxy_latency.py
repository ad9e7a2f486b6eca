"""Added latency of the vmllm proxy over direct calls to the same local upstream.

A local upstream on 127.0.0.1 answers every chat completion at once with a small fixed reply.
Each request is an agent conversation of the given size (tool results of ~2 kB each, so the
proxy has real paging work to do). The upstream and ``vmllm proxy`` run as processes of their
own, as deployed (in one process the client, proxy and upstream threads would queue for one
GIL). Direct and proxied calls alternate, each path over its own kept-alive connection (as an
SDK client does), and the report gives p50 / p99 of each, the added time and the ratio, in the
same run; and the proxy process's CPU time per request (user + system, from /proc), which a
loaded machine does not inflate the way it does wall-clock latency. Then where the time goes
for one request of each size, step by step, in this process (``--no-profile`` skips it).

    python benchmarks/proxy_latency.py [--iterations 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from vmllm import _core, _json_limits
from vmllm.proxy._session_key import session_key
from vmllm.virtual_memory import VirtualMemory

REPLY = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}]}).encode()
HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)


def conversation(target_bytes: int) -> bytes:
    msgs: list[dict[str, Any]] = [{"role": "user", "content": "fix the bug"}]
    result = "".join(f"line {i}: some file content here\n" for i in range(60))  # ~2 kB.
    t = 0
    while len(json.dumps(msgs)) < target_bytes:
        msgs.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{t}", "type": "function",
             "function": {"name": "read_file", "arguments": json.dumps({"path": f"f{t}.py"})}}]})
        msgs.append({"role": "tool", "tool_call_id": f"c{t}", "content": f"# f{t}\n" + result})
        t += 1
    return json.dumps({"model": "m", "messages": msgs}).encode()


class Client:
    """One kept-alive connection, as an SDK keeps one."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, body: bytes) -> float:
        started = time.perf_counter()
        self.conn.request("POST", "/v1/chat/completions", body=body, headers=HEADERS)
        resp = self.conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def best_of(fn: Callable[[], Any], n: int = 5) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def profile(body: bytes) -> str:
    """The proxy's steps for one request, each timed alone (best of 5, in ms)."""
    request = json.loads(body)
    plain = _core.StreamSession()
    plain.rewrite("openai", body)  # Its pages exist: later rewrites plan, they do not store.
    with tempfile.TemporaryDirectory() as tmp:
        store = VirtualMemory(tmp)
        try:
            stored = _core.StreamSession(pager=store._engine, session="bench")
            first = best_of(lambda: _core.StreamSession(
                pager=store._engine, session=f"s{time.perf_counter_ns()}").rewrite(
                    "openai", body), 3)
            stored.rewrite("openai", body)
            steps = [
                ("check_json_limits", best_of(lambda: _json_limits.check(
                    body, "request body", "request_body_bytes"))),
                ("json.loads", best_of(lambda: json.loads(body))),
                ("session key", best_of(lambda: session_key("openai", request, HEADERS))),
                ("rewrite, no store", best_of(lambda: plain.rewrite("openai", body))),
                ("rewrite, store, seen", best_of(lambda: stored.rewrite("openai", body))),
                ("rewrite, store, new", first)]
        finally:
            store.close()
    return "  ".join(f"{name} {seconds * 1e3:.2f}" for name, seconds in steps)


def start(command: list[str], pattern: str) -> tuple[subprocess.Popen[str], int]:
    """A server process and the port it printed it listens on."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(pattern, line)
    if not match:
        proc.kill()
        raise SystemExit(f"{command[:3]} did not start: {line!r}")
    return proc, int(match.group(1))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (0 where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_upstream() -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    print(f"upstream on port {upstream.server_address[1]}", flush=True)
    upstream.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        serve_upstream()
        return
    upstream, up_port = start([sys.executable, __file__, "--serve-upstream"],
                              r"upstream on port (\d+)")
    proxy, px_port = start([sys.executable, "-m", "vmllm", "proxy", "--upstream",
                            f"http://127.0.0.1:{up_port}", "--port", "0"],
                           r"listening on http://127\.0\.0\.1:(\d+)")
    try:
        run(args, up_port, px_port, proxy.pid)
    finally:
        for proc in (proxy, upstream):
            proc.terminate()
            proc.wait()


def run(args: argparse.Namespace, up_port: int, px_port: int, px_pid: int) -> None:
    direct_client, proxy_client = Client(up_port), Client(px_port)
    print(f"{'request':>9} {'n':>5} {'direct p50':>11} {'direct p99':>11} "
          f"{'proxy p50':>10} {'proxy p99':>10} {'added p50':>10} {'added p99':>10} "
          f"{'x p50':>6}")
    for label, size, n in [("10 kB", 10_000, args.iterations),
                           ("1 MB", 1_000_000, max(5, args.iterations // 10))]:
        body = conversation(size)
        for _ in range(3):  # Warm-up: connections open, the session's pages stored.
            direct_client.call(body), proxy_client.call(body)
        direct, proxied = [], []
        cpu = 0.0
        for _ in range(n):
            direct.append(direct_client.call(body))
            before = cpu_seconds(px_pid)
            proxied.append(proxy_client.call(body))
            cpu += cpu_seconds(px_pid) - before
        d50, d99, p50, p99 = (pct(direct, 0.5), pct(direct, 0.99), pct(proxied, 0.5),
                              pct(proxied, 0.99))
        print(f"{label:>9} {n:>5} {d50 * 1e3:>9.2f}ms {d99 * 1e3:>9.2f}ms "
              f"{p50 * 1e3:>8.2f}ms {p99 * 1e3:>8.2f}ms {(p50 - d50) * 1e3:>8.2f}ms "
              f"{(p99 - d99) * 1e3:>8.2f}ms {p50 / d50:>6.1f}", flush=True)
        print(f"{'':>9} request {len(body):,} bytes; mean direct "
              f"{statistics.mean(direct) * 1e3:.2f}ms, mean proxied "
              f"{statistics.mean(proxied) * 1e3:.2f}ms; proxy CPU per request "
              f"{cpu / n * 1e3:.2f}ms")
        if not args.no_profile:
            print(f"{'':>9} steps (ms): {profile(body)}", flush=True)


if __name__ == "__main__":
    main()
