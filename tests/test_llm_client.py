"""The LLM client (libcurl, OpenAI wire format, retries) against a real scripted HTTP server."""

from __future__ import annotations

import threading

import pytest
from llm_server import DIMENSION, ScriptedServer, chat_reply, make_server_fixture, word_vector

import vmllm
from vmllm import _core

llm_server = make_server_fixture()

SECRET = "sk-test-SECRET-4c1d2e"


def client(server: ScriptedServer, **kwargs: object) -> _core.LlmClient:
    options: dict = dict(base_url=server.url, api_key=SECRET, timeout=5.0, backoff=0.01,
                         max_backoff=2.0, max_retries=3)
    options.update(kwargs)
    return _core.LlmClient(**options)


def chat(c: _core.LlmClient, text: str = "hello") -> str:
    return c.chat("test-model", [("system", "be brief"), ("user", text)])


def test_chat_sends_the_openai_wire_format(llm_server: ScriptedServer) -> None:
    llm_server.then(body=chat_reply("hi there"))
    assert chat(client(llm_server), "hello") == "hi there"
    (request,) = llm_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == [{"role": "system", "content": "be brief"},
                                        {"role": "user", "content": "hello"}]


def test_429_waits_for_retry_after_then_succeeds(llm_server: ScriptedServer) -> None:
    llm_server.then(status=429, body={"error": {"message": "slow down"}},
                    headers={"Retry-After": "1"})
    llm_server.then(body=chat_reply("after the wait"))
    c = client(llm_server)
    assert chat(c) == "after the wait"
    first, second = llm_server.requests
    # The backoff alone would retry after ~10 ms; the server asked for a second.
    assert second.started - first.finished >= 0.9
    assert c.stats()["retries"] == 1


def test_500s_are_retried_until_success(llm_server: ScriptedServer) -> None:
    for _ in range(2):
        llm_server.then(status=500, body={"error": {"message": "oops"}})
    llm_server.then(status=503, body={"error": {"message": "busy"}})
    llm_server.then(body=chat_reply("third time lucky"))
    c = client(llm_server)
    assert chat(c) == "third time lucky"
    assert len(llm_server.requests) == 4
    assert c.stats() == {"requests": 4, "retries": 3, "failures": 0}


def test_persistent_500_fails_after_the_retries(llm_server: ScriptedServer) -> None:
    for _ in range(3):
        llm_server.then(status=500, body={"error": {"message": "down"}})
    with pytest.raises(vmllm.BackendUnavailableError, match="HTTP 500.*after 3 attempts"):
        chat(client(llm_server, max_retries=2))
    assert len(llm_server.requests) == 3


def test_client_errors_are_not_retried(llm_server: ScriptedServer) -> None:
    llm_server.then(status=400, body={"error": {"message": "bad model"}})
    with pytest.raises(vmllm.BackendUnavailableError, match="HTTP 400.*bad model"):
        chat(client(llm_server))
    assert len(llm_server.requests) == 1


def test_a_reply_slower_than_the_timeout_fails(llm_server: ScriptedServer) -> None:
    llm_server.then(body=chat_reply("too late"), delay=30)
    with pytest.raises(vmllm.BackendUnavailableError, match="[Tt]imeout"):
        chat(client(llm_server, timeout=0.3, max_retries=0))
    assert len(llm_server.requests) == 1


def test_a_slow_reply_is_retried(llm_server: ScriptedServer) -> None:
    llm_server.then(body=chat_reply("too late"), delay=30)
    llm_server.then(body=chat_reply("in time"))
    assert chat(client(llm_server, timeout=0.3, max_retries=1)) == "in time"
    assert len(llm_server.requests) == 2


def test_malformed_json_is_an_invalid_argument_not_retried(llm_server: ScriptedServer) -> None:
    llm_server.then(kind="raw", body=b'{"choices": [ this is not json')
    with pytest.raises(vmllm.InvalidArgumentError, match="not JSON"):
        chat(client(llm_server))
    llm_server.then(body={"choices": []})
    with pytest.raises(vmllm.InvalidArgumentError, match="choices"):
        chat(client(llm_server))
    assert len(llm_server.requests) == 2


def test_a_connection_reset_mid_body_is_retried(llm_server: ScriptedServer) -> None:
    llm_server.then(kind="reset")
    llm_server.then(body=chat_reply("whole reply"))
    c = client(llm_server)
    assert chat(c) == "whole reply"
    assert len(llm_server.requests) == 2
    assert c.stats()["retries"] == 1


def test_a_reset_every_time_is_backend_unavailable(llm_server: ScriptedServer) -> None:
    for _ in range(2):
        llm_server.then(kind="reset")
    with pytest.raises(vmllm.BackendUnavailableError):
        chat(client(llm_server, max_retries=1))


def test_an_unreachable_server_is_backend_unavailable() -> None:
    c = _core.LlmClient(base_url="http://127.0.0.1:9/v1", api_key=SECRET, timeout=2.0,
                        connect_timeout=1.0, max_retries=1, backoff=0.01)
    with pytest.raises(vmllm.BackendUnavailableError, match="127.0.0.1:9"):
        chat(c)


def test_the_api_key_never_appears_in_errors(llm_server: ScriptedServer) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}
    llm_server.then(status=401, body=echo)
    with pytest.raises(vmllm.BackendUnavailableError) as error:
        chat(client(llm_server))
    assert "Incorrect API key" in str(error.value)
    assert SECRET not in str(error.value) and "[redacted]" in str(error.value)
    llm_server.then(kind="raw", body=f"<html>{SECRET}".encode())
    with pytest.raises(vmllm.InvalidArgumentError) as malformed:
        chat(client(llm_server))
    assert SECRET not in str(malformed.value)
    c = client(llm_server)
    assert SECRET not in repr(c) and SECRET not in str(c.stats())


def test_environment_supplies_base_url_and_key(llm_server: ScriptedServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url + "/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    c = _core.LlmClient()
    assert c.base_url == llm_server.url
    assert chat(c) == llm_server.default_summary
    assert llm_server.requests[0].headers["authorization"] == "Bearer sk-from-env"


def test_a_bad_base_url_is_rejected() -> None:
    with pytest.raises(vmllm.InvalidArgumentError, match="http"):
        _core.LlmClient(base_url="ftp://example.com")


def test_embeddings_go_one_request_per_batch_in_order(llm_server: ScriptedServer) -> None:
    texts = [f"text number {i} about topic {i % 3}" for i in range(10)]
    vectors = client(llm_server, embedding_batch_size=4).embed("emb", texts)
    batches = llm_server.paths("/embeddings")
    assert [len(r.body["input"]) for r in sorted(batches, key=lambda r: r.body["input"][0])] \
        == [4, 4, 2]
    assert sorted(t for r in batches for t in r.body["input"]) == sorted(texts)
    for text, vector in zip(texts, vectors):
        assert vector == pytest.approx(word_vector(text), abs=1e-6)
    assert len(vectors[0]) == DIMENSION


def test_batches_are_in_flight_at_once(llm_server: ScriptedServer) -> None:
    # Each embeddings request waits until three are in the server together; sent one after
    # another, the barrier would time out and every request would fail.
    llm_server.barrier = threading.Barrier(3, timeout=10)
    texts = [f"t{i}" for i in range(6)]
    vectors = client(llm_server, embedding_batch_size=2, max_retries=0).embed("emb", texts)
    assert len(vectors) == 6
    assert llm_server.max_in_flight == 3


def test_connections_are_reused(llm_server: ScriptedServer) -> None:
    c = client(llm_server)
    for _ in range(3):
        chat(c)
    assert len({r.client_port for r in llm_server.requests}) == 1


def test_an_embeddings_reply_of_the_wrong_shape_is_invalid(llm_server: ScriptedServer) -> None:
    llm_server.then(body={"data": [{"index": 0, "embedding": [1.0, 2.0]}]})
    with pytest.raises(vmllm.InvalidArgumentError, match="1 embeddings for 2 inputs"):
        client(llm_server).embed("emb", ["a", "b"])
