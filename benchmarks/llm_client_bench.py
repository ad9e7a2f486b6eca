"""LLM client benchmark against the scripted local server (tests/llm_server.py).

Two questions, each answered as a ratio against a baseline measured in the same run:
1. Embeddings: batched requests with several in flight vs one text per request, one at a time,
   when every request costs the server `--latency` seconds.
2. Eviction: how long release_page takes with an LLM compressor whose endpoint needs
   `--latency` seconds per summary, vs the built-in extractive compressor (synchronous).

    PYTHONPATH=python python3 benchmarks/llm_client_bench.py [--latency 0.02] [--texts 256]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from llm_server import ScriptedServer  # noqa: E402

import vmllm  # noqa: E402
from vmllm import _core  # noqa: E402


class SlowServer(ScriptedServer):
    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def _default(self, path, body):  # type: ignore[no-untyped-def]
        action = super()._default(path, body)
        action.delay = self.latency
        return action


def embed_seconds(server: ScriptedServer, texts: list[str], batch: int, in_flight: int) -> float:
    client = _core.LlmClient(base_url=server.url, api_key="sk-bench", timeout=30.0,
                             embedding_batch_size=batch, max_in_flight=in_flight)
    start = time.perf_counter()
    vectors = client.embed("bench-embed", texts)
    assert len(vectors) == len(texts)
    return time.perf_counter() - start


def release_seconds(server: ScriptedServer, compressor: str, pages: int) -> list[float]:
    with tempfile.TemporaryDirectory() as store:
        with vmllm.VirtualMemory(store, l1_tokens=4000, page_tokens=100, compressor=compressor,
                                 llm_base_url=server.url, llm_api_key="sk-bench") as vm:
            text = "".join(f"Section {i}: the service on port {8000 + i} retries with backoff "
                           f"and a circuit breaker guards db_{i}.\n\n" for i in range(pages * 3))
            ids = vm.ingest("doc", text)[:pages]
            times = []
            for page_id in ids:
                vm.request_page(page_id)
                start = time.perf_counter()
                vm.release_page(page_id, compress=True)
                times.append(time.perf_counter() - start)
            vm.flush()
            return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    server = SlowServer(args.latency)
    try:
        texts = [f"text {i} about the circuit breaker on port {i}" for i in range(args.texts)]
        naive = embed_seconds(server, texts, batch=1, in_flight=1)
        batched = embed_seconds(server, texts, batch=64, in_flight=1)
        concurrent = embed_seconds(server, texts, batch=16, in_flight=8)
        print(f"embeddings of {args.texts} texts, server latency {args.latency * 1000:.0f} ms "
              "per request:")
        print(f"  1 text per request, 1 in flight (baseline): {naive:.3f} s")
        print(f"  64 per request, 1 in flight:                {batched:.3f} s "
              f"({naive / batched:.1f}x faster)")
        print(f"  16 per request, 8 in flight:                {concurrent:.3f} s "
              f"({naive / concurrent:.1f}x faster)")
        extractive = release_seconds(server, "extractive", args.pages)
        remote = release_seconds(server, "openai:bench-model", args.pages)
        e, r = statistics.median(extractive), statistics.median(remote)
        print(f"release_page(compress=True), median of {args.pages}:")
        print(f"  extractive, synchronous (baseline): {e * 1e6:.0f} us")
        print(f"  openai:MODEL, endpoint needs {args.latency * 1000:.0f} ms: {r * 1e6:.0f} us "
              f"({r / e:.2f}x the baseline; the model's latency is {args.latency / r:.0f}x "
              "release_page's)")
    finally:
        server.close()


if __name__ == "__main__":
    main()
