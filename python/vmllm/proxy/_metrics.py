"""The proxy's counters and latency histograms, and ``/metrics`` as Prometheus text.

Labels are bounded sets (route names and status codes, never a client's path or key). The
paging counters that live in the sessions (evictions, recall faults...) are summed over the
sessions held in memory; what the proxy itself saw (requests, bytes and tokens saved,
latencies) counts for the process's lifetime.
"""

from __future__ import annotations

import bisect
import math
import threading
from typing import Any

# Seconds: a proxied call takes from well under a millisecond (the proxy's own work) to
# minutes (a long generation).
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            10.0, 30.0, 60.0, 120.0, 300.0)
# Tokens saved are estimated from bytes: about four bytes of JSON text per token.
BYTES_PER_TOKEN = 4


class Histogram:
    """Cumulative buckets, a sum and a count (the caller holds the metrics lock)."""

    def __init__(self) -> None:
        self.counts = [0] * (len(_BUCKETS) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def samples(self) -> list[tuple[str, str, float]]:
        out: list[tuple[str, str, float]] = []
        running = 0
        for bound, n in zip(_BUCKETS + (math.inf,), self.counts):
            running += n
            le = "+Inf" if math.isinf(bound) else repr(bound)
            out.append(("_bucket", f'{{le="{le}"}}', running))
        out.append(("_sum", "", self.sum))
        out.append(("_count", "", self.count))
        return out


class Metrics:
    """What the proxy counts. Thread-safe through ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.bad_requests = 0
        self.upstream_errors = 0
        self.follow_ups = 0
        self.store_errors = 0
        self.bytes_saved = 0
        self.seconds = 0.0
        self.latency = Histogram()
        self.upstream_latency = Histogram()

    def count(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(route, status)] = self.requests.get((route, status), 0) + 1
            self.seconds += seconds
            self.latency.observe(seconds)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def upstream(self, seconds: float) -> None:
        with self.lock:
            self.upstream_latency.observe(seconds)


def sample_value(value: float) -> str:
    """A sample as Prometheus text: integers exactly (``%g`` would print 3.87772e+06), floats
    with every digit ``repr`` gives, infinities and NaN as the format spells them."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a metric must be a number, not {value!r}")
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


_SESSION_COUNTERS = [
    ("evictions", "counter", "Tool results turned into stubs."),
    ("faults", "counter", "Recalls plus re-issued calls of paged-out results."),
    ("recall_faults", "counter", "Faults by vmllm_recall."),
    ("reissue_faults", "counter", "Faults by the same tool call issued again."),
    ("pinned_keys", "gauge", "Call keys pinned after a fault."),
    ("pages", "gauge", "Pages in the sessions' stores."),
    ("bytes_in", "counter", "Request bytes as received."),
    ("bytes_out", "counter", "Request bytes as forwarded."),
    ("deferred_by_cache", "counter", "Requests where the cache gate held evictions.")]


def render(m: Metrics, sessions: Any) -> str:
    """``/metrics``: the proxy's metrics and the live sessions' counters as Prometheus text.
    Reads the store (blocking): call it off the event loop."""
    stats = [s.stats() for s in sessions.live()]
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP vmllm_proxy_{name} {help_text}")
        lines.append(f"# TYPE vmllm_proxy_{name} {kind}")
        lines.extend(f"vmllm_proxy_{name}{labels} {sample_value(value)}"
                     for labels, value in samples)

    def histogram(name: str, help_text: str, h: Histogram) -> None:
        lines.append(f"# HELP vmllm_proxy_{name} {help_text}")
        lines.append(f"# TYPE vmllm_proxy_{name} histogram")
        lines.extend(f"vmllm_proxy_{name}{suffix}{labels} {sample_value(value)}"
                     for suffix, labels, value in h.samples())

    with m.lock:
        metric("requests_total", "counter", "Requests by route and status.",
               [(f'{{route="{r}",status="{s}"}}', n) for (r, s), n in sorted(m.requests.items())]
               or [("", 0)])
        metric("bad_requests_total", "counter", "Bad requests answered with a 4xx.",
               [("", m.bad_requests)])
        metric("upstream_errors_total", "counter",
               "Upstream unreachable, timed out or broken (502/504 or a stream error event).",
               [("", m.upstream_errors)])
        metric("follow_ups_total", "counter", "Memory-tool calls answered by the proxy.",
               [("", m.follow_ups)])
        metric("store_errors_total", "counter",
               "Requests forwarded unchanged because the session store failed.",
               [("", m.store_errors)])
        metric("bytes_saved_total", "counter", "Request bytes paging kept from the upstream.",
               [("", m.bytes_saved)])
        metric("tokens_saved_total", "counter",
               f"Input tokens paging kept from the upstream (bytes / {BYTES_PER_TOKEN}).",
               [("", m.bytes_saved // BYTES_PER_TOKEN)])
        metric("request_seconds_total", "counter", "Time spent serving requests.",
               [("", m.seconds)])
        histogram("request_seconds", "Time from a request's headers to its last byte.",
                  m.latency)
        histogram("upstream_seconds", "Time from sending upstream to the upstream's headers.",
                  m.upstream_latency)
    metric("sessions", "gauge", "Sessions held in memory.", [("", len(stats))])
    store = sessions.store
    spaces = [s for s in store.spaces() if s.startswith("stream:")]
    metric("store_sessions", "gauge", "Sessions kept in the store (every process's).",
           [("", len(spaces))])
    metric("store_pages", "gauge", "Pages the sessions keep in the store.",
           [("", sum(store.stats(space)["total_pages"] for space in spaces))])
    for key, kind, text in _SESSION_COUNTERS:
        suffix = "_total" if kind == "counter" else ""
        metric(key + suffix, kind, text, [("", sum(s[key] for s in stats))])
    return "\n".join(lines) + "\n"
