"""Compress-on-evict and embeddings through an LLM: the scripted server, Python callables and
LangChain-shaped objects, wired into VirtualMemory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import paragraphs
from llm_server import ScriptedServer, make_server_fixture, word_vector

import vmllm
from vmllm import _core

llm_server = make_server_fixture()

SECRET = "sk-paging-SECRET-77"


@pytest.fixture
def remote_vm(store: str, llm_server: ScriptedServer) -> Iterator[vmllm.VirtualMemory]:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             compressor="openai:test-model", llm_base_url=llm_server.url,
                             llm_api_key=SECRET, llm_timeout=5.0, llm_max_retries=1) as vm:
        yield vm


def test_compress_on_evict_stores_the_models_summary(
        remote_vm: vmllm.VirtualMemory, llm_server: ScriptedServer) -> None:
    ids = remote_vm.ingest("doc", paragraphs(8))
    original = remote_vm.request_page(ids[0])
    assert remote_vm.release_page(ids[0], compress=True)
    remote_vm.flush()  # Waits for the job.
    entry = remote_vm.page_table[ids[0]]
    assert entry.compressed and entry.summary == llm_server.default_summary
    (request,) = llm_server.paths("/chat/completions")
    assert request.body["model"] == "test-model"
    assert request.body["messages"][0]["content"] == _core.compression_prompt()
    assert request.body["messages"][1]["content"] == original
    assert remote_vm.request_page(ids[0], full=False) == llm_server.default_summary
    assert remote_vm.request_page(ids[0]) == original  # Never lost.
    stats = remote_vm.stats()
    assert stats["compressions"] == 1 and stats["compression_fallbacks"] == 0


def test_eviction_by_policy_compresses_through_the_model(
        remote_vm: vmllm.VirtualMemory, llm_server: ScriptedServer) -> None:
    ids = remote_vm.ingest("doc", paragraphs(40))
    for page_id in ids:
        remote_vm.request_page(page_id)
    remote_vm.flush()
    evicted = [p for p in ids if p not in remote_vm.active_pages()]
    assert evicted and remote_vm.stats()["evictions"] == len(evicted)
    for page_id in evicted:
        assert remote_vm.page_table[page_id].summary == llm_server.default_summary
    assert len(llm_server.paths("/chat/completions")) == len(evicted)


def test_a_failing_endpoint_falls_back_to_extractive(
        remote_vm: vmllm.VirtualMemory, llm_server: ScriptedServer) -> None:
    for _ in range(2):  # The first attempt and its one retry.
        llm_server.then(status=500, body={"error": {"message": f"boom for {SECRET}"}})
    ids = remote_vm.ingest("doc", paragraphs(8))
    original = remote_vm.request_page(ids[0])
    remote_vm.release_page(ids[0])
    remote_vm.flush()
    entry = remote_vm.page_table[ids[0]]
    assert entry.summary == _core.extractive_compressor().compress(original)
    stats = remote_vm.stats()
    assert stats["compression_fallbacks"] == 1 and stats["compressions"] == 1
    assert "HTTP 500" in stats["last_compression_error"]
    assert SECRET not in str(stats)
    assert remote_vm.read_page(ids[0]) == original


def test_eviction_does_not_wait_for_a_slow_endpoint(
        remote_vm: vmllm.VirtualMemory, llm_server: ScriptedServer) -> None:
    reply_allowed = threading.Event()
    llm_server.then(body={"choices": [{"message": {"content": "late summary"}}]},
                    hold=reply_allowed)
    ids = remote_vm.ingest("doc", paragraphs(8))
    original = remote_vm.request_page(ids[0])
    assert remote_vm.release_page(ids[0])
    # release_page has returned, yet the server cannot have answered: it waits for us.
    assert llm_server.received.wait(10)
    assert not reply_allowed.is_set()
    assert remote_vm.stats()["compressions_pending"] == 1
    assert not remote_vm.page_table[ids[0]].compressed
    assert remote_vm.request_page(ids[0]) == original  # No summary yet: back in full.
    reply_allowed.set()
    remote_vm.flush()
    assert remote_vm.page_table[ids[0]].summary == "late summary"
    assert remote_vm.stats()["compressions_pending"] == 0


def test_close_does_not_wait_for_a_slow_endpoint(store: str, llm_server: ScriptedServer) -> None:
    reply_allowed = threading.Event()
    llm_server.then(body={"choices": [{"message": {"content": "too late"}}]},
                    hold=reply_allowed)
    vm = vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             compressor="openai:test-model", llm_base_url=llm_server.url,
                             llm_timeout=30.0)
    ids = vm.ingest("doc", paragraphs(8))
    original = vm.request_page(ids[0])
    vm.release_page(ids[0])
    assert llm_server.received.wait(10)
    vm.close()
    assert not reply_allowed.is_set()  # Closed while the model was still "thinking".
    reply_allowed.set()
    with vmllm.VirtualMemory(store) as again:
        assert again.read_page(ids[0]) == original
        assert again.page_table[ids[0]].summary is None


def test_summaries_are_cached_by_content_and_model(
        remote_vm: vmllm.VirtualMemory, llm_server: ScriptedServer) -> None:
    text = paragraphs(1)
    (a,) = remote_vm.ingest("a", text)
    (b,) = remote_vm.ingest("b", text)
    remote_vm.request_page(a)
    remote_vm.release_page(a)
    remote_vm.flush()
    remote_vm.request_page(b)
    remote_vm.release_page(b)
    # Same text, same model: no second request, and the summary is there without waiting.
    assert remote_vm.page_table[b].summary == llm_server.default_summary
    assert len(llm_server.paths("/chat/completions")) == 1


def test_openai_embedder_searches_by_the_servers_vectors(
        store: str, llm_server: ScriptedServer) -> None:
    topics = ["volcano lava eruption", "violin orchestra concerto", "glacier ice melting"]
    text = "".join(f"{t} {t} {t} section {i}.\n\n" for i, t in enumerate(topics * 30))
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=20,
                             embedder="openai:test-embed", llm_base_url=llm_server.url,
                             llm_timeout=5.0) as vm:
        ids = vm.ingest("doc", text)
        assert len(ids) > 64
        batches = [r.body["input"] for r in llm_server.paths("/embeddings")]
        # One probe for the dimension, then one request per batch of at most 64 pages.
        assert batches[0] == ["dimension probe"]
        assert sorted(len(b) for b in batches[1:]) == sorted(
            [64] * (len(ids) // 64) + ([len(ids) % 64] if len(ids) % 64 else []))
        hits = vm.semantic_find("orchestra violin", n=3, mode="vector")
        assert all("violin" in vm.read_page(h) for h in hits)


def test_an_unreachable_embedder_degrades_hybrid_search_to_keywords(
        store: str, llm_server: ScriptedServer) -> None:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             embedder="openai:test-embed", llm_base_url=llm_server.url,
                             llm_timeout=5.0, llm_max_retries=0) as vm:
        for _ in range(4):
            llm_server.then(status=503, body={"error": {"message": "down"}})
        ids = vm.ingest("doc", "alpha beta gamma.\n\n" + paragraphs(3))
        assert vm.semantic_find("alpha", n=1) == [ids[0]]  # BM25 alone.
        assert vm.stats()["tiers"]["L3"]["errors"] >= 1
        with pytest.raises(vmllm.BackendUnavailableError):
            vm.semantic_find("alpha", n=1, mode="vector")


# --- Python callables and LangChain-shaped objects --------------------------------------------

class FakeLangChainEmbeddings:
    """The two methods of langchain_core.embeddings.Embeddings."""

    model = "fake-embed"

    def __init__(self) -> None:
        self.document_calls: list[list[str]] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls.append(list(texts))
        return [word_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return word_vector(text)


class FakeMessage:
    def __init__(self, content: Any) -> None:
        self.content = content


class FakeChatModel:
    """A LangChain chat model's `invoke(messages) -> AIMessage`."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.thread_ids: set[int] = set()

    def invoke(self, messages: Any) -> FakeMessage:
        self.calls.append(messages)
        self.thread_ids.add(threading.get_ident())
        return FakeMessage([{"type": "text", "text": "LC summary of "},
                            messages[1][1].split(".")[0]])


def test_langchain_objects_serve_as_embedder_and_compressor(store: str) -> None:
    embeddings, chat = FakeLangChainEmbeddings(), FakeChatModel()
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, compressor=chat,
                             embedder=embeddings) as vm:
        ids = vm.ingest("doc", paragraphs(12, topic="kangaroo"))
        embedded = [t for call in embeddings.document_calls for t in call]
        assert len(embedded) == len(ids) + 1  # Every page once, plus the dimension probe.
        assert embedded[1:] == [vm.read_page(p) for p in ids]
        hits = vm.semantic_find("Section 7 about kangaroo 7", n=1, mode="vector")
        assert "Section 7 about kangaroo 7" in vm.read_page(hits[0])
        assert embeddings.queries == ["Section 7 about kangaroo 7"]
        original = vm.request_page(ids[2])
        vm.release_page(ids[2])
        vm.flush()
        assert vm.page_table[ids[2]].summary == "LC summary of " + original.split(".")[0]
        assert chat.calls[0][0] == ("system", _core.compression_prompt())
        assert threading.get_ident() not in chat.thread_ids  # Ran on the worker thread.


def test_python_callables_serve_as_embedder_and_compressor(store: str) -> None:
    def compress(text: str) -> str:
        return "short: " + text[:20]

    def embed(texts: list[str]) -> list[list[float]]:
        return [word_vector(t) for t in texts]

    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, compressor=compress,
                             embedder=embed) as vm:
        ids = vm.ingest("doc", paragraphs(6, topic="wombat"))
        assert vm.semantic_find("Section 4 about wombat 4", n=5, mode="vector")
        original = vm.request_page(ids[1])
        vm.release_page(ids[1])
        vm.flush()
        assert vm.page_table[ids[1]].summary == compress(original)
        assert vm.fault("Section 1 about wombat", n=1)


def test_a_failing_python_compressor_falls_back_and_logs(
        store: str, caplog: pytest.LogCaptureFixture) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("model unavailable")

    with caplog.at_level(logging.WARNING, logger="vmllm"):
        with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                                 compressor=broken) as vm:
            ids = vm.ingest("doc", paragraphs(6))
            original = vm.request_page(ids[0])
            vm.release_page(ids[0])
            vm.flush()
            assert vm.page_table[ids[0]].summary == \
                _core.extractive_compressor().compress(original)
            assert vm.stats()["compression_fallbacks"] == 1
            assert "model unavailable" in vm.stats()["last_compression_error"]
    assert "model unavailable" in caplog.text


def test_a_failing_python_embedder_loses_no_page_and_recovers(store: str) -> None:
    healthy = {"on": True}

    def flaky(texts: list[str]) -> list[list[float]]:
        if not healthy["on"]:
            raise ConnectionError("embedding service down")
        return [word_vector(t) for t in texts]

    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, embedder=flaky) as vm:
        healthy["on"] = False
        ids = vm.ingest("doc", "alpha beta gamma.\n\n" + paragraphs(3))
        assert vm.read_page(ids[0]).startswith("alpha")  # Stored all the same.
        assert vm.semantic_find("alpha", n=1) == [ids[0]]  # Keywords alone.
        with pytest.raises(vmllm.BackendUnavailableError):
            vm.semantic_find("alpha", n=1, mode="vector")
        healthy["on"] = True
        assert vm.semantic_find("alpha beta gamma", n=1, mode="vector") == [ids[0]]


def test_bad_backend_arguments_are_rejected(store: str) -> None:
    with pytest.raises(vmllm.InvalidArgumentError, match="compressor"):
        vmllm.VirtualMemory(store, compressor="gpt-4o")
    with pytest.raises(vmllm.InvalidArgumentError, match="embedder"):
        vmllm.VirtualMemory(store, embedder="openai:")
    with pytest.raises(vmllm.InvalidArgumentError, match="embedder"):
        vmllm.VirtualMemory(store, embedder=42)
