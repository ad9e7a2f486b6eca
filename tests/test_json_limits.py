"""Every JSON that enters the core has a depth and a size limit (README, Limits).

Deep JSON used to overflow the C++ stack (SIGSEGV) or raise RecursionError, and a message
nested 1,000 deep was stored and then broke messages() and search_recall() for good. Each entry
point now refuses it with InvalidArgumentError before anything parses or stores it. Cases that
crashed the old code run in a child process, so a SIGSEGV fails the test instead of pytest.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import vmllm
from vmllm import _core
from vmllm.llm import _coerce_call
from vmllm.proxy import PagingProxy

LIMIT = 128
DEPTHS = [1_000, 100_000]

# Shared by every child script: deep JSON text and a deep Python value, built without recursion.
CHILD_PRELUDE = """
import json, sys
import vmllm
from vmllm import _core

def arrays(n):
    return "[" * n + "1" + "]" * n

def nested_list(n):
    value = 1
    for _ in range(n):
        value = [value]
    return value

def refused(fn):
    try:
        fn()
    except vmllm.InvalidArgumentError as exc:
        print("REFUSED:", str(exc)[:300])
    else:
        print("ACCEPTED")
"""


def run_child(body: str, env: dict[str, str], tmp_path: Path) -> str:
    """Runs CHILD_PRELUDE + body in a fresh interpreter; a crash or an escaping exception fails."""
    script = CHILD_PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"child exited {proc.returncode} (negative: killed by signal)\n"
        f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
    return proc.stdout


def assert_refused_with_the_limit(out: str, limit: int = LIMIT) -> None:
    lines = [line for line in out.splitlines() if line.startswith(("REFUSED", "ACCEPTED"))]
    assert lines, out
    for line in lines:
        assert line.startswith("REFUSED:"), line
        assert f"limit is {limit}" in line, line


def arrays(n: int) -> str:
    return "[" * n + "1" + "]" * n


# --- every entry point, at 1,000 and at 100,000 levels --------------------------------------

@pytest.mark.parametrize("depth", DEPTHS)
def test_receive_hand_off_refuses_a_deep_task_state(depth, python_env, tmp_path) -> None:
    out = run_child(f"""
        with vmllm.VirtualMemory("store") as vm:
            snapshot = '{{"active_page_ids": [], "task_state": ' + arrays({depth}) + '}}'
            refused(lambda: vm.receive_hand_off(snapshot))
            refused(lambda: vm.receive_hand_off(snapshot.encode()))
    """, python_env, tmp_path)
    assert_refused_with_the_limit(out, LIMIT + 1)  # The snapshot's envelope is one level.


@pytest.mark.parametrize("depth", DEPTHS)
def test_hand_off_refuses_a_deep_task_state(depth, python_env, tmp_path) -> None:
    out = run_child(f"""
        with vmllm.VirtualMemory("store") as vm:
            refused(lambda: vm.hand_off(task_state=nested_list({depth})))
            refused(lambda: vm.hand_off(task_state={{"plan": nested_list({depth})}}))
    """, python_env, tmp_path)
    assert_refused_with_the_limit(out)


@pytest.mark.parametrize("depth", DEPTHS)
def test_conversation_memory_append_refuses_a_deep_message(depth, python_env, tmp_path) -> None:
    out = run_child(f"""
        with vmllm.ConversationMemory("mem", window_tokens=2000) as memory:
            text = '{{"role": "user", "content": "hi", "extra": ' + arrays({depth}) + '}}'
            refused(lambda: memory.append(text))
            refused(lambda: memory.append(text.encode()))
            refused(lambda: memory.append({{"role": "user", "content": "hi",
                                            "extra": nested_list({depth})}}))
            print("STORED", len(memory.messages()), memory.search_recall()["total"])
    """, python_env, tmp_path)
    assert_refused_with_the_limit(out)
    assert "STORED 0 0" in out


@pytest.mark.parametrize("depth", DEPTHS)
def test_conversation_memory_execute_refuses_a_deep_tool_call(depth, python_env,
                                                             tmp_path) -> None:
    out = run_child(f"""
        with vmllm.ConversationMemory("mem", window_tokens=2000) as memory:
            call = ('{{"id": "c1", "type": "tool_use", "name": "core_memory_append", '
                    '"input": {{"label": "human", "content": "x", "deep": '
                    + arrays({depth}) + '}}}}')
            refused(lambda: memory.execute(call, append=False))
            refused(lambda: memory.execute({{"id": "c1", "name": "conversation_search",
                                             "input": {{"query": nested_list({depth})}}}}))
            print("STATS", memory.stats()["tool_calls"])
    """, python_env, tmp_path)
    assert_refused_with_the_limit(out)
    assert "STATS 0" in out  # Refused before it counted as a call.


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_stream_session_rewrite_refuses_a_deep_body(wire, depth, python_env, tmp_path) -> None:
    out = run_child(f"""
        session = _core.StreamSession()
        body = ('{{"model": "m", "messages": [{{"role": "user", "content": '
                + arrays({depth}) + '}}]}}')
        refused(lambda: session.rewrite("{wire}", body.encode()))
        deep_first = arrays({depth})
        refused(lambda: session.rewrite("{wire}", deep_first))
    """, python_env, tmp_path)
    assert_refused_with_the_limit(out)


@pytest.mark.parametrize("depth", DEPTHS)
def test_deep_tool_arguments_inside_a_shallow_body_do_not_crash(depth, python_env,
                                                               tmp_path) -> None:
    # Arguments are JSON text inside a JSON string: the body's check cannot see their depth.
    out = run_child(f"""
        session = _core.StreamSession()
        args = arrays({depth})
        body = json.dumps({{"messages": [
            {{"role": "user", "content": "hi"}},
            {{"role": "assistant", "content": None, "tool_calls": [
                {{"id": "c1", "type": "function",
                  "function": {{"name": "read", "arguments": args}}}}]}},
            {{"role": "tool", "tool_call_id": "c1", "content": "ok"}},
            {{"role": "user", "content": "next"}}]}})
        rewritten, _ = session.rewrite("openai", body)
        print("REWROTE", len(rewritten) > 0, session.is_pinned("read", args))
    """, python_env, tmp_path)
    assert "REWROTE True False" in out


# --- nothing over the limit is stored; what is under it round-trips ------------------------

def nested_value(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def message_at_depth(depth: int) -> dict[str, Any]:
    """A user message that nests `depth` deep: the message object is the first level."""
    return {"role": "user", "content": "the nested one", "extra": nested_value(depth - 1)}


def test_refused_deep_append_stores_nothing_and_reads_keep_working(tmp_path) -> None:
    path = tmp_path / "mem"
    # As text: Python's json.dumps could not even write a 1,000-deep dict.
    deep_text = '{"role": "user", "content": "the attack", "extra": ' + arrays(999) + "}"
    with vmllm.ConversationMemory(path, window_tokens=2000) as memory:
        memory.append({"role": "user", "content": "before the attack"})
        with pytest.raises(vmllm.InvalidArgumentError,
                           match=f"message is nested 1000 deep; the limit is {LIMIT}"):
            memory.append(deep_text)
        with pytest.raises(vmllm.InvalidArgumentError,
                           match=f"nested {LIMIT + 1} deep; the limit is {LIMIT}"):
            memory.append(message_at_depth(LIMIT + 1))
        memory.append({"role": "user", "content": "after the attack"})
        assert [m["content"] for m in memory.messages()] == ["before the attack",
                                                             "after the attack"]
        assert memory.search_recall()["total"] == 2
        hits = memory.search_recall("attack")["hits"]
        assert sorted(h["content"] for h in hits) == ["after the attack", "before the attack"]
    with vmllm.ConversationMemory(path, window_tokens=2000) as reopened:
        assert [m["content"] for m in reopened.messages()] == ["before the attack",
                                                               "after the attack"]
        assert reopened.search_recall()["total"] == 2


def test_a_message_at_the_depth_limit_round_trips(tmp_path) -> None:
    message = message_at_depth(LIMIT)
    with vmllm.ConversationMemory(tmp_path / "mem", window_tokens=4000) as memory:
        memory.append(message)
        assert memory.messages() == [message]
        hits = memory.search_recall("nested")["hits"]
        assert [h["message"] for h in hits] == [message]
    with vmllm.ConversationMemory(tmp_path / "mem", window_tokens=4000) as reopened:
        assert reopened.messages() == [message]


def test_a_task_state_at_the_depth_limit_round_trips(vm) -> None:
    state = nested_value(LIMIT)  # The outermost list is the first level.
    assert vm.receive_hand_off(vm.hand_off(task_state=state)) == state
    with pytest.raises(vmllm.InvalidArgumentError,
                       match=f"task state is nested {LIMIT + 1} deep; the limit is {LIMIT}"):
        vm.hand_off(task_state=[state])


def test_a_task_state_over_the_size_limit_is_refused(vm) -> None:
    limit = _core.JSON_LIMITS["task_state_bytes"]
    with pytest.raises(vmllm.InvalidArgumentError, match=f"the limit is {limit} bytes"):
        vm.hand_off(task_state="x" * limit)


def test_a_message_over_the_size_limit_is_refused_and_not_stored(tmp_path) -> None:
    limit = _core.JSON_LIMITS["message_bytes"]
    with vmllm.ConversationMemory(tmp_path / "mem", window_tokens=2000) as memory:
        with pytest.raises(vmllm.InvalidArgumentError, match=f"the limit is {limit} bytes"):
            memory.append({"role": "user", "content": "x" * limit})
        assert memory.messages() == []


def test_deep_arguments_of_a_tool_call_fail_the_call_not_the_caller(tmp_path) -> None:
    # 1,000 levels: past Python's recursion too, yet the message itself stays small.
    with vmllm.ConversationMemory(tmp_path / "mem", window_tokens=20000) as memory:
        call = {"id": "c1", "type": "function",
                "function": {"name": "conversation_search", "arguments": arrays(1000)}}
        memory.append({"role": "assistant", "content": None, "tool_calls": [call]})
        result = memory.execute(call)
        assert not result.ok
        assert f"nested 1000 deep; the limit is {LIMIT}" in result.content["message"]
        assert result.appended  # The model is told; the conversation stays whole.


# --- the limits are the core's, exposed once --------------------------------------------

def test_the_limits_are_exposed_and_documented() -> None:
    mib = 1 << 20
    assert _core.JSON_LIMITS == {"max_depth": LIMIT, "task_state_bytes": 16 * mib,
                                 "hand_off_bytes": 64 * mib, "message_bytes": 16 * mib,
                                 "request_body_bytes": 64 * mib, "llm_reply_bytes": 64 * mib}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "## Limits" in readme and "**128**" in readme


def test_check_json_limits_ignores_brackets_in_strings_and_refuses_depth() -> None:
    _core.check_json_limits('["' + "[" * 10_000 + '"]', "text", 1 << 20)
    _core.check_json_limits(arrays(LIMIT), "text", 1 << 20)
    with pytest.raises(vmllm.InvalidArgumentError, match="text is nested 129 deep"):
        _core.check_json_limits(arrays(LIMIT + 1).encode(), "text", 1 << 20)
    with pytest.raises(vmllm.InvalidArgumentError, match="text is 3 bytes; the limit is 2"):
        _core.check_json_limits("[1]", "text", 2)


def test_deep_model_arguments_stay_raw_in_the_python_agent_loop() -> None:
    text = arrays(100_000)
    call = _coerce_call({"id": "c1", "function": {"name": "f", "arguments": text}}, 0)
    assert call.args == {"_raw": text}


# --- the proxy: refused before json.loads, so no RecursionError in a handler ---------------

@pytest.fixture
def bare_proxy():
    log = io.StringIO()
    p = PagingProxy("http://127.0.0.1:9", port=0, log=log)  # Nothing upstream: never reached.
    p.start()
    yield p
    p.shutdown()
    p.server_close()


def post(proxy: PagingProxy, path: str, body: bytes,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_proxy_answers_400_to_a_deep_body(bare_proxy, path, depth) -> None:
    body = ('{"model": "m", "messages": [{"role": "user", "content": '
            + arrays(depth) + '}]}').encode()
    status, reply = post(bare_proxy, path, body)
    assert status == 400
    assert f"nested {depth + 3} deep; the limit is {LIMIT}" in reply["error"]["message"]


def test_proxy_refuses_a_body_over_the_size_limit_unread(bare_proxy) -> None:
    limit = _core.JSON_LIMITS["request_body_bytes"]
    conn = http.client.HTTPConnection("127.0.0.1", bare_proxy.server_address[1], timeout=30)
    try:
        conn.putrequest("POST", "/v1/chat/completions")
        conn.putheader("Content-Length", str(limit + 1))
        conn.endheaders()  # No body sent: the proxy must answer from the header alone.
        resp = conn.getresponse()
        assert resp.status == 413
        assert f"the limit is {limit} bytes" in json.loads(resp.read())["error"]["message"]
    finally:
        conn.close()
