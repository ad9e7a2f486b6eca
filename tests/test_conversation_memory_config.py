"""ConversationMemory takes VirtualMemory's backend arguments (issue 13, "One configuration").

tokenizer=, compressor=, embedder= and embedding_dimensions= (with the llm_* arguments) are
resolved by one function, vmllm._config.resolve, for both facades; the embedder really makes
the vectors of recall and archival search, and a store reopened with another embedder
recomputes its vectors instead of comparing vectors of two spaces.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from llm_server import ScriptedServer, make_server_fixture, word_vector

import vmllm
from vmllm import _config, _core
from vmllm.tokenizers import get_tokenizer

llm_server = make_server_fixture()

# Few words, many tokens of JSON and digits: the counts of the tokenizers differ.
MESSAGE = {"role": "user", "content": "Ünïcødé façade 12345678901234567890 {\"k\": [1, 2]} "
                                      "déjà vu — naïve coöperation, 東京 and Zürich."}


def compact(message: dict[str, Any]) -> str:
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def queue_tokens(memory: vmllm.ConversationMemory) -> int:
    return int(memory.stats()["queue_tokens"])


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "approx"])
def test_a_tokenizer_name_counts_with_that_tokenizer(tmp_path: Path, name: str) -> None:
    with vmllm.ConversationMemory(tmp_path / name, window_tokens=4000, tokenizer=name) as memory:
        memory.append(MESSAGE)
        expected = _core.message_tokens(compact(MESSAGE), get_tokenizer(name))
        assert queue_tokens(memory) == expected
    counts = {n: _core.message_tokens(compact(MESSAGE), get_tokenizer(n))
              for n in ("cl100k_base", "o200k_base", "approx")}
    assert len(set(counts.values())) == 3, counts  # Else the test could not tell them apart.


def test_the_default_tokenizer_is_exact_cl100k_as_for_virtual_memory(tmp_path: Path) -> None:
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=4000) as memory:
        memory.append(MESSAGE)
        assert queue_tokens(memory) == _core.message_tokens(
            compact(MESSAGE), get_tokenizer("cl100k_base"))
    assert _config.resolve(tokenizer=None, compressor=None, embedder=None,
                           embedding_dimensions=None, llm_base_url=None, llm_api_key=None,
                           llm_timeout=60.0, llm_max_retries=4).tokenizer.name == "cl100k_base"


def test_a_callable_tokenizer_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(vmllm.InvalidArgumentError, match="never calls into Python"):
        vmllm.ConversationMemory(tmp_path / "m", tokenizer=lambda text: len(text))


def _facades(tmp_path: Path) -> list[Any]:
    return [lambda **kw: vmllm.VirtualMemory(tmp_path / "vm", **kw),
            lambda **kw: vmllm.ConversationMemory(tmp_path / "cm", **kw)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(tokenizer="gpt2"), "unknown tokenizer"),
    (dict(tokenizer=3.5), "tokenizer must be"),
    (dict(embedder="bert"), "embedder must be"),
    (dict(embedder=42), "embedder must be"),
    (dict(compressor="abstractive"), "compressor must be"),
    (dict(compressor=42), "compressor must be"),
    (dict(embedding_dimensions=64), "fixed size"),  # With the built-in hashing embedder.
    (dict(embedder="openai:m", embedding_dimensions=1), "embedding_dimensions must be"),
    (dict(embedder="openai:text-embedding-3-small", embedding_dimensions=4096), "1536"),
    (dict(embedder=lambda texts: [[1.0, 0.0] for _ in texts], embedding_dimensions=3),
     "mismatch"),
    (dict(llm_timeout=0), "llm_timeout"),
    (dict(llm_max_retries=-1), "llm_max_retries"),
])
def test_bad_specs_raise_the_same_invalid_argument_error_from_both_facades(
        tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    messages = []
    for make in _facades(tmp_path):
        with pytest.raises(vmllm.InvalidArgumentError, match=match) as raised:
            make(**kwargs)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_both_facades_resolve_their_arguments_with_the_one_resolver(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    real = _config.resolve

    def spy(**kwargs: Any) -> _config.Config:
        calls.append({k: v for k, v in kwargs.items() if k != "inline_compressor"})
        return real(**kwargs)

    monkeypatch.setattr(_config, "resolve", spy)
    spec = dict(tokenizer="o200k_base", compressor="openai:summariser",
                embedder="openai:embedder", embedding_dimensions=24,
                llm_base_url="http://127.0.0.1:9/v1", llm_api_key="k", llm_timeout=5.0,
                llm_max_retries=1)
    configs = []
    for make in _facades(tmp_path):
        with make(**spec):
            pass
        configs.append(calls[-1])
    assert len(calls) == 2 and configs[0] == configs[1] == spec


def _synonyms(calls: list[list[str]]) -> Any:
    """A Python embedder that knows "car" and "automobile" mean one thing (BM25 cannot)."""
    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        out = []
        for t in texts:
            v = [0.01] * 8
            if "car" in t.split() or "automobile" in t.lower():
                v[0] = 1.0
            if "piano" in t.lower():
                v[1] = 1.0
            out.append(v)
        return out
    return embed


def test_a_python_embedder_makes_the_vectors_of_recall_and_archival_search(
        tmp_path: Path) -> None:
    calls: list[list[str]] = []
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=4000,
                                  embedder=_synonyms(calls)) as memory:
        memory.append({"role": "user", "content": "I bought a car yesterday"})
        memory.append({"role": "user", "content": "My sister plays the piano"})
        memory.archival_insert("The user drives a red car to work")
        memory.archival_insert("The user hates piano recitals")
        assert not any("bought" in t for c in calls for t in c)  # Lazily: not on append.
        hits = memory.search_recall("automobile", mode="vector")["hits"]
        assert hits[0]["content"] == "I bought a car yesterday"
        assert memory.search_recall("automobile", mode="keyword")["hits"] == []
        found = memory.archival_search("automobile")["hits"]
        assert found[0]["content"] == "The user drives a red car to work"
        embedded = {t for c in calls for t in c}
        assert {"I bought a car yesterday", "The user drives a red car to work",
                "automobile"} <= embedded
        assert memory.stats()["search_fallbacks"] == 0
        # The model's own search tool embeds its query too.
        calls.clear()
        result = memory.execute({"id": "c1", "type": "function", "function": {
            "name": "conversation_search", "arguments": json.dumps({"query": "automobile"})}},
            append=False)
        assert result.ok and "bought a car" in json.dumps(result.content)
        assert ["automobile"] in calls


class FakeLangChainEmbeddings:
    """The two methods of LangChain's ``Embeddings`` that vmllm uses."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.queries: list[str] = []
        self._embed = _synonyms(self.calls)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self._embed([text])[0]


class FakeChatModel:
    """A LangChain chat model's ``invoke``: messages in, a message with ``content`` out."""

    def __init__(self) -> None:
        self.prompts: list[Any] = []

    def invoke(self, messages: Any) -> Any:
        self.prompts.append(messages)
        return type("AIMessage", (), {"content": [{"type": "text", "text": "CHAT SUMMARY"}]})()


def test_langchain_embeddings_and_chat_model_serve_conversation_memory(tmp_path: Path) -> None:
    embeddings, chat = FakeLangChainEmbeddings(), FakeChatModel()
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=600, embedder=embeddings,
                                  compressor=chat, tokenizer="approx") as memory:
        memory.append({"role": "user", "content": "I bought a car yesterday"})
        for i in range(40):
            memory.append({"role": "user", "content": f"message {i} about the garden " * 4})
        assert "CHAT SUMMARY" in memory.messages()[0]["content"]
        assert chat.prompts and memory.stats()["compressor_failures"] == 0
        hits = memory.search_recall("automobile", mode="vector")["hits"]
        assert hits[0]["content"] == "I bought a car yesterday"
        assert embeddings.queries == ["automobile"]


def test_an_openai_embedder_is_called_for_recall_and_archival_search(
        tmp_path: Path, llm_server: ScriptedServer) -> None:
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=4000, embedder="openai:emb",
                                  embedding_dimensions=128, llm_base_url=llm_server.url,
                                  llm_timeout=5.0, llm_max_retries=0) as memory:
        memory.append({"role": "user", "content": "The lighthouse keeper feeds seagulls"})
        memory.append({"role": "user", "content": "Quarterly taxes are due in April"})
        memory.archival_insert("Seagulls nest on the lighthouse roof")
        assert llm_server.paths("/embeddings") == []  # Nothing on append or insert.
        hits = memory.search_recall("seagulls lighthouse", mode="vector")["hits"]
        assert hits[0]["content"] == "The lighthouse keeper feeds seagulls"
        found = memory.archival_search("lighthouse")["hits"]
        assert found[0]["content"] == "Seagulls nest on the lighthouse roof"
        assert memory.stats()["search_fallbacks"] == 0
    requests = llm_server.paths("/embeddings")
    inputs = [t for r in requests for t in r.body["input"]]
    assert "Seagulls nest on the lighthouse roof" in inputs
    assert "seagulls lighthouse" in inputs and "lighthouse" in inputs
    assert all(r.body["model"] == "emb" and r.body["dimensions"] == 128 for r in requests)


def test_an_openai_compressor_writes_the_summary(
        tmp_path: Path, llm_server: ScriptedServer) -> None:
    with vmllm.ConversationMemory(tmp_path / "m", window_tokens=600, compressor="openai:summ",
                                  llm_base_url=llm_server.url, llm_timeout=5.0,
                                  llm_max_retries=0, tokenizer="approx") as memory:
        for i in range(40):
            memory.append({"role": "user", "content": f"message {i} about the garden " * 4})
        assert memory.stats()["flushes"] >= 1
        assert llm_server.default_summary in memory.messages()[0]["content"]
        assert memory.stats()["compressor_failures"] == 0
    chats = llm_server.paths("/chat/completions")
    assert chats and chats[0].body["model"] == "summ"


def test_a_remote_embedder_that_is_down_falls_back_to_keywords(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = ScriptedServer()
    url = server.url
    server.close()  # Nothing listens there.
    with caplog.at_level(logging.WARNING, logger="vmllm"), vmllm.ConversationMemory(
            tmp_path / "m", window_tokens=4000, embedder="openai:emb", llm_base_url=url,
            llm_timeout=2.0, llm_max_retries=0) as memory:
        memory.append({"role": "user", "content": "The harbor crane lifts containers"})
        for _ in range(2):
            hits = memory.search_recall("harbor crane")["hits"]
            assert hits[0]["content"] == "The harbor crane lifts containers"
        memory.archival_insert("Cranes need wind below 40 knots")
        assert memory.archival_search("cranes wind")["hits"]
        assert memory.stats()["search_fallbacks"] == 3
        with pytest.raises(vmllm.BackendUnavailableError):
            memory.search_recall("harbor crane", mode="vector")
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "vmllm" and "keywords alone" in r.getMessage()]
    assert len(warnings) == 1  # Once, not once per search.


REOPEN = textwrap.dedent("""
    import json, sys
    import vmllm

    def synonyms(texts):
        return [[1.0 if "car" in t.split() or "automobile" in t else 0.01, 0.01, 0.02]
                for t in texts]

    path, step = sys.argv[1], sys.argv[2]
    embedder = {"hashing": "hashing", "python": synonyms, "hashing2": "hashing"}[step]
    with vmllm.ConversationMemory(path, window_tokens=4000, embedder=embedder) as memory:
        if step == "hashing":
            memory.append({"role": "user", "content": "I bought a car yesterday"})
            memory.append({"role": "user", "content": "The weather is mild"})
            memory.archival_insert("The car is red")
        query = "automobile" if step == "python" else "car"
        recall = memory.search_recall(query, mode="vector")["hits"]
        archival = memory.archival_search(query)["hits"]
        print(json.dumps({"recall": [h["content"] for h in recall],
                          "archival": [h["content"] for h in archival],
                          "fallbacks": memory.stats()["search_fallbacks"]}))
""")


def test_reopening_with_another_embedder_recomputes_the_vectors(
        tmp_path: Path, python_env: dict[str, str]) -> None:
    path = str(tmp_path / "m")

    def run(step: str) -> dict[str, Any]:
        # A child process: comparing vectors of two sizes could crash, not only fail.
        done = subprocess.run([sys.executable, "-c", REOPEN, path, step], env=python_env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    first = run("hashing")  # 256-dimensional hashing vectors.
    assert first["recall"][0] == "I bought a car yesterday"

    second = run("python")  # 3 dimensions, and "automobile" means "car" only to it.
    assert second["recall"][0] == "I bought a car yesterday"
    assert second["archival"][0] == "The car is red"
    assert second["fallbacks"] == 0
    third = run("hashing2")  # And back.
    assert third["recall"][0] == "I bought a car yesterday" and third["fallbacks"] == 0
