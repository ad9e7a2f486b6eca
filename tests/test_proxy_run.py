"""``vmllm run -- COMMAND``: the command talks to the proxy with no set-up, its output comes
through, its exit code is vmllm's, and signals sent to vmllm reach it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from scripted_upstream import (  # noqa: F401 - upstream is a fixture.
    STUB, Upstream, completion, upstream)

pytest.importorskip("openai")

CHILD = textwrap.dedent("""
    import json, os, sys
    import openai
    from scripted_upstream import openai_history
    client = openai.OpenAI(api_key="sk-child", max_retries=0, timeout=20)  # OPENAI_BASE_URL
    reply = client.chat.completions.create(model="m", messages=openai_history())
    print("child got:", reply.choices[0].message.content, flush=True)
    print("anthropic at:", os.environ["ANTHROPIC_BASE_URL"], file=sys.stderr, flush=True)
    sys.exit(3)
""")


def vmllm_run(upstream: Upstream, *command: str, **kwargs: object) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(__file__)] + sys.path))
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "vmllm", "run", "--upstream", upstream.url,
                             "--tau", "4", "--no-cache-aware", "--", *command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def test_the_command_calls_the_api_through_the_proxy_and_its_exit_code_is_kept(
        upstream: Upstream) -> None:
    upstream.script.append(completion("paged hello"))
    proc = vmllm_run(upstream, sys.executable, "-c", CHILD)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert out == "child got: paged hello\n"
    assert "anthropic at: http://127.0.0.1:" in err
    assert len(STUB.findall(json.dumps(upstream.received[-1]["body"]))) == 2
    assert upstream.received[-1]["headers"]["authorization"] == "Bearer sk-child"


WAITER = textwrap.dedent("""
    import signal, sys, time
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Die of the signal, as most programs do.
    print("ready", flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_vmllm_reaches_the_command(upstream: Upstream, sig: int) -> None:
    proc = vmllm_run(upstream, sys.executable, "-c", WAITER)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 128 + sig  # As a shell reports a command a signal ended.


def test_run_without_a_command_is_a_usage_error(upstream: Upstream) -> None:
    proc = vmllm_run(upstream)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "needs a command after --" in err
