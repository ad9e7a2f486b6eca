"""Remote embedders of the wrong size, of a chosen size, or down (issue 12).

A store must open and serve pages while its embedder is unreachable; hybrid search must fall
back to BM25 whenever its vector half fails; the OpenAI ``dimensions`` field is sent when asked.
"""

from __future__ import annotations

import logging

import pytest
from conftest import paragraphs
from llm_server import DIMENSION, ScriptedServer, make_server_fixture, word_vector

import vmllm

llm_server = make_server_fixture()

TEXT = "alpha beta gamma.\n\n" + paragraphs(6)


def fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "vmllm" and "keywords (BM25) alone" in r.getMessage()]


def test_wrong_size_vectors_fall_back_to_bm25_with_one_warning(
        store: str, llm_server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    # The model is known to make 1536-dimensional vectors; this server returns 32.
    with caplog.at_level(logging.WARNING, logger="vmllm"), vmllm.VirtualMemory(
            store, l1_tokens=400, page_tokens=100, embedder="openai:text-embedding-3-small",
            llm_base_url=llm_server.url, llm_timeout=5.0, llm_max_retries=0) as vm:
        ids = vm.ingest("doc", TEXT)  # Indexing fails; the pages are stored all the same.
        assert vm.read_page(ids[0]).startswith("alpha beta gamma")
        for _ in range(2):
            assert vm.semantic_find("alpha", n=1) == [ids[0]]  # BM25 alone, no exception.
        assert vm.fault("alpha", n=1) == [ids[0]]
        stats = vm.stats()
        assert stats["search_fallbacks"] == 3
        assert stats["tiers"]["L3"]["errors"] >= 3
        with pytest.raises(vmllm.InvalidArgumentError, match=rf"\b{DIMENSION}\b.*\b1536\b"):
            vm.semantic_find("alpha", n=1, mode="vector")
    (warning,) = fallback_warnings(caplog)  # Once, not once per search.
    assert f"{DIMENSION} dimensions" in warning and "1536" in warning


def test_store_opens_and_serves_pages_while_the_embedder_is_down(
        store: str, llm_server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    options = dict(l1_tokens=400, page_tokens=100, embedder="openai:test-embed",
                   llm_timeout=5.0, llm_max_retries=0)
    with vmllm.VirtualMemory(store, llm_base_url=llm_server.url, **options) as vm:
        ids = vm.ingest("doc", TEXT)
        assert vm.semantic_find("alpha", n=1, mode="vector") == [ids[0]]
    url = llm_server.url
    llm_server.close()  # Nothing listens there any more.
    with caplog.at_level(logging.WARNING, logger="vmllm"), vmllm.VirtualMemory(
            store, llm_base_url=url, **options) as vm:
        assert vm.read_page(ids[1]) == vm.request_page(ids[1])
        assert vm.semantic_find("alpha", n=1, mode="keyword") == [ids[0]]
        vm.ingest("more", "delta epsilon.\n\n")  # Stored; indexed once the server is back.
        assert vm.semantic_find("delta epsilon", n=1) == ["more::chunk_0000"]
        assert vm.stats()["search_fallbacks"] == 1
        with pytest.raises(vmllm.BackendUnavailableError):
            vm.semantic_find("alpha", n=1, mode="vector")
    assert len(fallback_warnings(caplog)) == 1


def test_a_new_store_opens_with_an_unknown_model_and_no_server(store: str) -> None:
    server = ScriptedServer()
    url = server.url
    server.close()
    # The dimension of an unknown model is learned at first use, not when the store opens.
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, embedder="openai:test-embed",
                             llm_base_url=url, llm_timeout=5.0, llm_max_retries=0) as vm:
        ids = vm.ingest("doc", TEXT)
        assert vm.request_page(ids[0]).startswith("alpha beta gamma")
        assert vm.semantic_find("alpha", n=1) == [ids[0]]


def test_embedding_dimensions_is_sent_and_sizes_the_index(
        store: str, llm_server: ScriptedServer) -> None:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             embedder="openai:text-embedding-3-small", embedding_dimensions=16,
                             llm_base_url=llm_server.url, llm_timeout=5.0) as vm:
        ids = vm.ingest("doc", TEXT)
        assert vm.semantic_find("alpha beta gamma", n=1, mode="vector") == [ids[0]]
        assert vm.stats()["search_fallbacks"] == 0
    requests = llm_server.paths("/embeddings")
    assert requests and all(r.body["dimensions"] == 16 for r in requests)


def test_no_dimensions_field_unless_asked(store: str, llm_server: ScriptedServer) -> None:
    with vmllm.VirtualMemory(store, embedder="openai:test-embed",
                             llm_base_url=llm_server.url, llm_timeout=5.0) as vm:
        vm.ingest("doc", TEXT)
    requests = llm_server.paths("/embeddings")
    assert requests and all("dimensions" not in r.body for r in requests)


def test_impossible_dimensions_are_refused_at_open(store: str) -> None:
    with pytest.raises(vmllm.InvalidArgumentError, match="4096.*1536"):
        vmllm.VirtualMemory(store, embedder="openai:text-embedding-3-small",
                            embedding_dimensions=4096, llm_base_url="http://127.0.0.1:9/v1")
    for bad in (1, 0, -3, 2.5, True, "16"):
        with pytest.raises(vmllm.InvalidArgumentError, match="embedding_dimensions"):
            vmllm.VirtualMemory(store, embedder="openai:x", embedding_dimensions=bad,
                                llm_base_url="http://127.0.0.1:9/v1")
    with pytest.raises(vmllm.InvalidArgumentError, match="hashing"):
        vmllm.VirtualMemory(store, embedding_dimensions=64)


def test_a_python_embedder_of_another_size_is_refused_at_open(store: str) -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        return [word_vector(t) for t in texts]

    with pytest.raises(vmllm.InvalidArgumentError, match=rf"\b{DIMENSION}\b.*\b16\b"):
        vmllm.VirtualMemory(store, embedder=embed, embedding_dimensions=16)
    with vmllm.VirtualMemory(store, embedder=embed, embedding_dimensions=DIMENSION) as vm:
        (page,) = vm.ingest("doc", "alpha beta gamma.")
        assert vm.semantic_find("alpha", n=1, mode="vector") == [page]
