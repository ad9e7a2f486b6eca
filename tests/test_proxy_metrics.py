"""The proxy's /metrics: valid Prometheus text, integers exact, floats at full precision."""

from __future__ import annotations

import http.client
import io
import math
import re
from collections.abc import Iterator

import pytest

from vmllm.proxy import PagingProxy, _sample_value

# The text exposition format: a metric name, optional labels, one value (Go's float syntax).
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)$')
VALUE = re.compile(r"^(NaN|[+-]Inf|-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)$")


@pytest.fixture
def proxy() -> Iterator[PagingProxy]:
    p = PagingProxy("http://127.0.0.1:9", port=0, log=io.StringIO())
    p.start()
    yield p
    p.shutdown()
    p.server_close()


def get_metrics(proxy: PagingProxy) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=10)
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    text = resp.read().decode()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/plain")
    conn.close()
    return text


def test_metrics_print_large_counters_exactly_and_stay_valid_prometheus_text(proxy):
    with proxy.metrics.lock:
        proxy.metrics.bad_requests = 3_877_720
        proxy.metrics.requests[("openai", 200)] = 12_345_678_901
        proxy.metrics.seconds = 0.1 + 0.2
    proxy.session("one")  # A session, so its counters are summed too.
    text = get_metrics(proxy)
    assert text.endswith("\n")
    lines = text.splitlines()
    assert "vmllm_proxy_bad_requests_total 3877720" in lines
    assert 'vmllm_proxy_requests_total{route="openai",status="200"} 12345678901' in lines
    assert "vmllm_proxy_request_seconds_total 0.30000000000000004" in lines
    assert "vmllm_proxy_sessions 1" in lines

    typed: dict[str, str] = {}
    for line in lines:
        if line.startswith("#"):
            kind, name, rest = line[2:].split(" ", 2)
            assert kind in ("HELP", "TYPE")
            if kind == "TYPE":
                assert rest in ("counter", "gauge", "histogram") and name not in typed
                typed[name] = rest
            continue
        match = SAMPLE.match(line)
        assert match, line
        name = match.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if typed.get(family) == "histogram":
            assert name != family, f"a histogram sample needs its suffix: {line}"
        else:
            assert name in typed, f"sample before its TYPE line: {line}"
        assert VALUE.match(match.group(4)), line
        if name not in ("vmllm_proxy_request_seconds_total", f"{family}_sum"):
            assert match.group(4).isdigit(), f"a count must print as an integer: {line}"


def test_latency_histograms_count_every_request_in_cumulative_buckets(proxy):
    for _ in range(3):
        get_metrics(proxy)  # /metrics itself is not a proxied request: nothing counted.
    proxy.metrics.count("openai", 200, 0.0007)
    proxy.metrics.count("openai", 200, 42.0)
    proxy.metrics.upstream(0.003)
    lines = get_metrics(proxy).splitlines()
    assert 'vmllm_proxy_request_seconds_bucket{le="0.0005"} 0' in lines
    assert 'vmllm_proxy_request_seconds_bucket{le="0.001"} 1' in lines
    assert 'vmllm_proxy_request_seconds_bucket{le="30.0"} 1' in lines
    assert 'vmllm_proxy_request_seconds_bucket{le="60.0"} 2' in lines
    assert 'vmllm_proxy_request_seconds_bucket{le="+Inf"} 2' in lines
    assert "vmllm_proxy_request_seconds_count 2" in lines
    assert "vmllm_proxy_request_seconds_sum 42.0007" in lines
    assert 'vmllm_proxy_upstream_seconds_bucket{le="0.0025"} 0' in lines
    assert 'vmllm_proxy_upstream_seconds_bucket{le="0.005"} 1' in lines
    assert "vmllm_proxy_upstream_seconds_count 1" in lines


@pytest.mark.parametrize("value, text", [
    (0, "0"), (3_877_720, "3877720"), (2**63, "9223372036854775808"), (0.5, "0.5"),
    (1e-7, "1e-07"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN")])
def test_sample_values_are_exact(value, text):
    assert _sample_value(value) == text
    if not math.isnan(value):
        assert float(text) == value
