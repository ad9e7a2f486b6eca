"""Added latency of the vmllm proxy over direct calls to the same local upstream.

A local upstream on 127.0.0.1 answers every chat completion at once with a small fixed reply.
Each request is an agent conversation of the given size (tool results of ~2 kB each, so the
proxy has real paging work to do). Direct and proxied calls alternate, over fresh connections
each time (as a simple client does), and the report gives p50 / p99 of each and the ratios.

    python benchmarks/proxy_latency.py [--iterations 200]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vmllm.proxy import PagingProxy

REPLY = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}]}).encode()


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

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


def call(port: int, body: bytes) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=body,
                 headers={"Content-Type": "application/json", "Authorization": "Bearer sk-bench"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200, resp.status
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, args=(0.05,), daemon=True).start()
    up_port = upstream.server_address[1]
    proxy = PagingProxy(f"http://127.0.0.1:{up_port}", port=0, log=io.StringIO())
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    px_port = proxy.server_address[1]
    print(f"{'request':>9} {'n':>5} {'direct p50':>11} {'direct p99':>11} {'proxy p50':>10} "
          f"{'proxy p99':>10} {'added p50':>10} {'added p99':>10} {'x p50':>6}")
    for label, size, n in [("10 kB", 10_000, args.iterations),
                           ("1 MB", 1_000_000, max(5, args.iterations // 10))]:
        body = conversation(size)
        call(up_port, body), call(px_port, body)  # Warm-up.
        direct, proxied = [], []
        for _ in range(n):
            direct.append(call(up_port, body))
            proxied.append(call(px_port, body))
        d50, d99, p50, p99 = (pct(direct, 0.5), pct(direct, 0.99), pct(proxied, 0.5),
                              pct(proxied, 0.99))
        print(f"{label:>9} {n:>5} {d50 * 1e3:>9.2f}ms {d99 * 1e3:>9.2f}ms {p50 * 1e3:>8.2f}ms "
              f"{p99 * 1e3:>8.2f}ms {(p50 - d50) * 1e3:>8.2f}ms {(p99 - d99) * 1e3:>8.2f}ms "
              f"{p50 / d50:>6.1f}", flush=True)
        print(f"{'':>9} request {len(body):,} bytes; mean direct {statistics.mean(direct) * 1e3:.2f}ms")
    proxy.shutdown()
    upstream.shutdown()


if __name__ == "__main__":
    main()
