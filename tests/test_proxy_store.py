"""Proxy sessions kept in the store: a restart resumes them, two proxy processes on one store
(with a real Redis as their L2) share them, and a long session's memory stays bounded."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripted_upstream import (  # noqa: F401 - upstream is a fixture.
    STUB, Upstream, big, completion, openai_history, upstream)
from vmllm.proxy import PagingProxy

KEY = "Bearer sk-test-store-SECRET"


@contextlib.contextmanager
def in_process_proxy(upstream: Upstream, store: Path) -> Iterator[PagingProxy]:
    p = PagingProxy(upstream.url, port=0, store=str(store), l2="memory")
    p.start()
    try:
        yield p
    finally:
        p.shutdown()
        p.server_close()


def post(port: int, body: dict[str, Any]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                     headers={"Content-Type": "application/json", "Authorization": KEY})
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == 200, data
        return json.loads(data)
    finally:
        conn.close()


def stubbed_prefix(messages: list[dict[str, Any]]) -> str:
    """The messages up to and including the last stub, as bytes a provider caches."""
    last = max(i for i, m in enumerate(messages) if STUB.search(json.dumps(m)))
    return json.dumps(messages[:last + 1])


def recall_call(page: str) -> dict[str, Any]:
    return completion(None, [{"id": "recall-1", "type": "function", "function": {
        "name": "vmllm_recall", "arguments": json.dumps({"page_ids": [page]})}}])


def test_a_restarted_proxy_resumes_and_recalls_a_page_paged_out_before(
        tmp_path: Path, upstream: Upstream) -> None:
    store = tmp_path / "sessions"
    history = openai_history()
    with in_process_proxy(upstream, store) as p:
        upstream.script.append(completion("ok"))
        post(p.server_address[1], {"model": "m", "messages": history})
    before = upstream.received[-1]["body"]["messages"]
    page = STUB.search(json.dumps(before)).group(1)
    assert "f0 line 39" not in json.dumps(before)

    history.append({"role": "assistant", "content": "Looking again."})
    history.append({"role": "user", "content": "What did f0 say?"})
    with in_process_proxy(upstream, store) as p:  # A new process in all but name.
        upstream.script += [recall_call(page), completion("f0 says hello")]
        answer = post(p.server_address[1], {"model": "m", "messages": history})
        assert p.sessions.live()[0].stats()["requests"] == 3  # Resumed: 1 before, 2 now.
        conn = http.client.HTTPConnection("127.0.0.1", p.server_address[1], timeout=10)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        assert "vmllm_proxy_store_sessions 1\n" in metrics
        assert "vmllm_proxy_store_pages 6\n" in metrics  # The six tool results.
    assert answer["choices"][0]["message"]["content"] == "f0 says hello"
    resumed, followed = (r["body"]["messages"] for r in upstream.received[-2:])
    # Byte-identical stubs: the provider's cached prefix survives the restart.
    assert json.dumps(resumed).startswith(stubbed_prefix(before)[:-1])
    # The recall, answered by the proxy after the restart, restored the page in place.
    assert "f0 line 39" in json.dumps(followed)


def start_proxy_process(upstream: Upstream, store: Path, l2: str,
                        env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vmllm", "proxy", "--upstream", upstream.url, "--port", "0",
         "--store", str(store), "--l2", l2],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # Printed once the socket listens.
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not match:
        stop(proc)
        raise AssertionError(f"the proxy did not start: {line}{proc.stdout.read()}")
    return proc, int(match.group(1))


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_two_proxy_processes_share_a_session_through_one_store_and_redis(
        tmp_path: Path, upstream: Upstream) -> None:
    pytest.importorskip("redis")
    from redis_process import started

    for server in started():
        procs = []
        try:
            a, port_a = start_proxy_process(upstream, tmp_path / "shared", server.url)
            procs.append(a)
            b, port_b = start_proxy_process(upstream, tmp_path / "shared", server.url)
            procs.append(b)
            history = openai_history()
            upstream.script.append(completion("ok"))
            post(port_a, {"model": "m", "messages": history})
            first = upstream.received[-1]["body"]["messages"]
            page = STUB.search(json.dumps(first)).group(1)
            # The next turn lands on the other process, which pages it the same way and
            # answers the model's recall of a page process A paged out.
            history.append({"role": "assistant", "content": "Hmm."})
            upstream.script += [recall_call(page), completion("done")]
            post(port_b, {"model": "m", "messages": history})
            second, followed = (r["body"]["messages"] for r in upstream.received[-2:])
            assert json.dumps(second).startswith(stubbed_prefix(first)[:-1])
            assert "f0 line 39" in json.dumps(followed)
            # And back to A, which catches up with B's turn: the recall pinned the page.
            history.append({"role": "user", "content": "thanks"})
            upstream.script.append(completion("bye"))
            post(port_a, {"model": "m", "messages": history})
            assert "f0 line 39" in json.dumps(upstream.received[-1]["body"]["messages"])
        finally:
            for proc in procs:
                stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_a_long_session_keeps_the_proxys_memory_bounded(tmp_path: Path,
                                                         upstream: Upstream) -> None:
    """200 turns bring 40 MB of distinct tool results through one session; the client keeps
    only its last three turns (as an agent that compacts its own history does), so each request
    is small and whatever the proxy's memory grows by is what it keeps. It keeps the pages in
    the store, not in RAM: its RSS grows by less than a quarter of what passed through."""
    turns, result_bytes = 200, 200_000
    upstream.script += [completion("ok") for _ in range(turns)]
    proc, port = start_proxy_process(upstream, tmp_path / "long", "memory")
    try:
        head = [{"role": "system", "content": "You are a coding agent."},
                {"role": "user", "content": "read everything"}]
        window: list[dict[str, Any]] = []
        baseline = 0
        for t in range(turns):
            content = (big(f"turn{t}") * (result_bytes // len(big(f"turn{t}")) + 1))[:result_bytes]
            window += [{"role": "assistant", "content": None, "tool_calls": [
                           {"id": f"c{t}", "type": "function", "function": {
                               "name": "read_file", "arguments": json.dumps({"path": f"f{t}"})}}]},
                       {"role": "tool", "tool_call_id": f"c{t}", "content": content}]
            window = window[-6:]
            post(port, {"model": "m", "messages": head + window})
            if t == 19:
                baseline = rss_bytes(proc.pid)  # Past start-up and warm caches.
        grown = rss_bytes(proc.pid) - baseline
        passed = (turns - 20) * result_bytes
        # Measured 2 MB for 36 MB passed; an in-RAM page map grows by all 36.
        assert grown < passed / 4, f"RSS grew {grown / 1e6:.1f} MB over {passed / 1e6:.0f} MB"
    finally:
        stop(proc)


def test_a_store_deleted_under_the_proxy_still_forwards_and_closes_cleanly(
        tmp_path: Path, upstream: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    store = tmp_path / "gone"
    p = PagingProxy(upstream.url, port=0, store=str(store), l2="memory")
    p.start()
    try:
        history = openai_history()
        upstream.script.append(completion("ok"))
        post(p.server_address[1], {"model": "m", "messages": history})
        shutil.rmtree(store)
        # A new tool result: a page to write, into a store that is gone.
        history += [{"role": "assistant", "content": None, "tool_calls": [
                        {"id": "call_new", "type": "function", "function": {
                            "name": "read_file", "arguments": "{\"path\": \"new.py\"}"}}]},
                    {"role": "tool", "tool_call_id": "call_new", "content": big("new")}]
        upstream.script.append(completion("still ok"))
        answer = post(p.server_address[1], {"model": "m", "messages": history})
        assert answer["choices"][0]["message"]["content"] == "still ok"
        assert upstream.received[-1]["body"]["messages"] == history  # Forwarded unchanged.
    finally:
        p.shutdown()
        with caplog.at_level("WARNING", logger="vmllm"):
            p.server_close()  # Ctrl-C of `vmllm proxy` ends here: a warning, not a traceback.
    assert any("closing the session store" in r.getMessage() for r in caplog.records)
