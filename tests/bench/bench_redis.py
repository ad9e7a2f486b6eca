"""Benchmark (not a test): paging pages in from a Redis L2.

Three ways of reading the same N page values from one local redis-server, in one run:

* vmllm: ``VirtualMemory.request_pages(ids)`` — the pages are faulted into L1 through the
  pipelined batch read (GETEX for every key in one round trip), hash-checked and made resident;
* redis-py: the same keys fetched with ``GET`` one by one (one round trip each);
* vmllm with the embedded (in-process) L2, as a reference for the pager's own page-in cost;
* ``redis-benchmark -t get`` with one client, unpipelined and pipelined (``-P 100``), values of
  the same size: Redis's own figure for the server and the loopback link.

Usage: ``python tests/bench/bench_redis.py [--pages 1000] [--repeat 5]``. Needs redis-server,
redis-benchmark and redis-py (``pip install redis``). Prints a Markdown table with ratios.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis

import vmllm


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--loglevel", "warning"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(500):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.01)
    raise RuntimeError("redis-server did not start")


def _document(pages: int) -> str:
    # One paragraph per page (page_tokens below is a little above one paragraph).
    return "".join(
        f"Section {i}: the service retries request {i} with exponential backoff, a circuit "
        f"breaker guards the database, and the cache keeps {i * 7} entries warm. " * 4 + "\n\n"
        for i in range(pages))


def _redis_benchmark(port: int, size: int, pipeline: int, requests: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "get", "-c", "1",
         "-n", str(requests), "-d", str(size), "-P", str(pipeline), "-q"],
        capture_output=True, text=True, check=True).stdout
    match = re.search(r"GET:\s*([\d.]+)\s*requests per second", out.replace("\r", "\n"))
    if not match:
        raise RuntimeError(f"unexpected redis-benchmark output: {out!r}")
    return float(match.group(1))


def _embedded_l2_times(path: str, args: argparse.Namespace) -> list[float]:
    """The same page-in with the in-process L2: what the pager itself costs, without Redis."""
    vm = vmllm.VirtualMemory(path, l1_tokens=200 * args.pages, page_tokens=150, l2="memory")
    ids = vm.ingest("bench", _document(args.pages))
    vm.request_pages(ids, full=True)
    times = []
    for _ in range(args.repeat):
        for page_id in vm.active_pages():
            vm.release_page(page_id, compress=False)
        start = time.perf_counter()
        vm.request_pages(ids, full=True)
        times.append(time.perf_counter() - start)
    vm.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (apt-get install redis-server)", file=sys.stderr)
            return 2

    port = _free_port()
    server = _start_redis(port)
    directory = tempfile.mkdtemp(prefix="vmllm-bench-redis-")
    try:
        url = f"redis://127.0.0.1:{port}/0"
        vm = vmllm.VirtualMemory(os.path.join(directory, "store"), l1_tokens=200 * args.pages,
                                 page_tokens=150, l2=url)
        ids = vm.ingest("bench", _document(args.pages))
        assert len(ids) == args.pages, (len(ids), args.pages)

        def release_all() -> None:
            for page_id in vm.active_pages():
                vm.release_page(page_id, compress=False)

        vm.request_pages(ids, full=True)  # From L4 once; releasing puts every page in Redis.
        release_all()
        client = redis.Redis(port=port)
        keys = client.keys("vmllm:*")
        assert len(keys) == args.pages
        size = sum(len(client.get(k) or b"") for k in keys) // len(keys)

        vmllm_times, redispy_times = [], []
        for _ in range(args.repeat):
            hits = vm.stats()["tiers"]["L2"]["hits"]
            start = time.perf_counter()
            vm.request_pages(ids, full=True)
            vmllm_times.append(time.perf_counter() - start)
            assert vm.stats()["tiers"]["L2"]["hits"] == hits + args.pages  # All from Redis.
            release_all()
            start = time.perf_counter()
            for key in keys:
                client.get(key)
            redispy_times.append(time.perf_counter() - start)
        vm.close()
        memory_times = _embedded_l2_times(os.path.join(directory, "memory"), args)

        vmllm_rate = args.pages / statistics.median(vmllm_times)
        memory_rate = args.pages / statistics.median(memory_times)
        redispy_rate = args.pages / statistics.median(redispy_times)
        requests = max(20000, args.pages * 20)
        bench_single = _redis_benchmark(port, size, 1, requests)
        bench_pipelined = _redis_benchmark(port, size, 100, requests * 5)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)

    print(f"`python tests/bench/bench_redis.py --pages {args.pages} --repeat {args.repeat}` — "
          f"{datetime.date.today().isoformat()}, {platform.machine()} {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{args.pages} pages of ~{size} bytes, median of {args.repeat} runs.\n")
    print("| path | pages (GETs) per second | vmllm ÷ this |")
    print("|---|---:|---:|")
    rows = [
        ("vmllm `request_pages` (pipelined GETEX + page-in to L1)", vmllm_rate),
        ("redis-py `GET` one by one", redispy_rate),
        ("(reference) vmllm `request_pages` with the embedded L2: page-in cost alone",
         memory_rate),
        ("`redis-benchmark -t get -c 1` (no pipeline)", bench_single),
        ("`redis-benchmark -t get -c 1 -P 100`", bench_pipelined),
    ]
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | {vmllm_rate / rate:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
