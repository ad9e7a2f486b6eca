"""LangChain's own standard suites (langchain-tests) against vmllm's retriever, vector store and
memory tools, plus the behaviours the suites do not cover."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_tests")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.tools import BaseTool  # noqa: E402
from langchain_tests.integration_tests import (  # noqa: E402
    RetrieversIntegrationTests,
    ToolsIntegrationTests,
    VectorStoreIntegrationTests,
)
from langchain_tests.unit_tests import ToolsUnitTests  # noqa: E402

import vmllm  # noqa: E402
from conftest import paragraphs  # noqa: E402
from llm_server import word_vector  # noqa: E402
from vmllm.integrations.langchain import (  # noqa: E402
    RecallPageTool,
    SearchMemoryTool,
    VirtualMemoryRetriever,
    VirtualMemoryVectorStore,
)

_SHARED: dict[str, vmllm.VirtualMemory] = {}


def shared_vm() -> vmllm.VirtualMemory:
    """One small store with a few documents, for suites that construct from parameters."""
    if "vm" not in _SHARED:
        vm = vmllm.VirtualMemory(l1_tokens=400, page_tokens=100)
        vm.ingest("guide", paragraphs(8, "circuit breakers"))
        vm.ingest("notes", paragraphs(4, "retries"))
        _SHARED["vm"] = vm
    return _SHARED["vm"]


@pytest.fixture(scope="module", autouse=True)
def _close_shared() -> Iterator[None]:
    yield
    if "vm" in _SHARED:
        _SHARED.pop("vm").close()


class TestRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[VirtualMemoryRetriever]:
        return VirtualMemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"vm": shared_vm()}

    @property
    def retriever_query_example(self) -> str:
        return "circuit breaker guards the database"


class TestVectorStoreStandard(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self) -> Iterator[VirtualMemoryVectorStore]:  # type: ignore[override]
        with vmllm.VirtualMemory(l1_tokens=400, page_tokens=100) as vm:
            yield VirtualMemoryVectorStore(vm, embedding=self.get_embeddings())


class TestVectorStoreOwnSearchStandard(VectorStoreIntegrationTests):
    """The same suite with vmllm's own hybrid search instead of LangChain embeddings."""

    @pytest.fixture()
    def vectorstore(self) -> Iterator[VirtualMemoryVectorStore]:  # type: ignore[override]
        with vmllm.VirtualMemory(l1_tokens=400, page_tokens=100) as vm:
            yield VirtualMemoryVectorStore(vm)


class _RecallPageTool:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return RecallPageTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"vm": shared_vm()}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"page_id": "guide::chunk_0001"}


class TestRecallPageToolUnit(_RecallPageTool, ToolsUnitTests):
    pass


class TestRecallPageToolIntegration(_RecallPageTool, ToolsIntegrationTests):
    pass


class _SearchMemoryTool:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return SearchMemoryTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"vm": shared_vm()}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "retries with exponential backoff", "n": 2}


class TestSearchMemoryToolUnit(_SearchMemoryTool, ToolsUnitTests):
    pass


class TestSearchMemoryToolIntegration(_SearchMemoryTool, ToolsIntegrationTests):
    pass


# --- behaviours beyond the suites ------------------------------------------------------------

def test_vector_store_documents_are_pages_the_agent_can_fault(vm):
    store = VirtualMemoryVectorStore(vm)
    ids = store.add_documents([
        Document(page_content="Kafka consumers commit offsets after processing.",
                 metadata={"topic": "kafka"}),
        Document(page_content="Redis keeps the hot cache with a time to live.",
                 metadata={"topic": "redis"})], ids=["k", "r"])
    assert ids == ["k", "r"]
    assert vm.fault("kafka consumers commit offsets", n=1) == ["langchain/k::chunk_0000"]
    hits = store.similarity_search("redis hot cache", k=1, filter={"topic": "redis"})
    assert [(d.id, d.metadata) for d in hits] == [("r", {"topic": "redis"})]
    assert store.similarity_search("redis hot cache", k=2, filter={"topic": "kafka"})[0].id == "k"
    store.delete(["k"])
    assert store.get_by_ids(["k", "r"])[0].id == "r"
    assert vm.semantic_find("kafka consumers commit offsets", n=5) == [
        "langchain/r::chunk_0000"]  # the deleted document's page is gone from search


def test_vector_store_persists_with_the_store(store):
    with vmllm.VirtualMemory(store) as vm:
        VirtualMemoryVectorStore(vm).add_texts(["alpha beta"], [{"n": 1}], ids=["a"])
    with vmllm.VirtualMemory(store) as vm:
        assert VirtualMemoryVectorStore(vm).get_by_ids(["a"]) == [
            Document(id="a", page_content="alpha beta", metadata={"n": 1})]


def test_vector_store_rejects_unserialisable_metadata_and_stores_nothing(vm):
    store = VirtualMemoryVectorStore(vm)
    with pytest.raises(TypeError):
        store.add_texts(["x"], [{"bad": object()}], ids=["x"])
    assert store.get_by_ids(["x"]) == [] and len(vm.page_table) == 0


def test_retriever_page_in_faults_pages_into_l1(vm):
    vm.ingest("guide", paragraphs(8))
    docs = VirtualMemoryRetriever(vm=vm, k=2, page_in=True).invoke("Section 5 about topic 5")
    assert docs[0].id == "guide::chunk_0005" or docs[0].metadata["doc_id"] == "guide"
    assert set(vm.active_pages()) >= {d.id for d in docs}
    assert docs[0].page_content == vm.read_page(docs[0].id)


def test_recall_tool_returns_a_whole_document_and_reports_unknown_ids(vm):
    ids = vm.ingest("doc", paragraphs(6))
    tool = RecallPageTool(vm=vm)
    assert tool.invoke({"page_id": "doc"}) == "".join(vm.read_page(i) for i in ids)
    assert "No page 'nope'" in tool.invoke({"page_id": "nope"})


# --- maximal marginal relevance (issue 12) ---------------------------------------------------

class WordEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors: texts sharing words are close."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [word_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return word_vector(text)


MMR_DOCS = {
    "a": "kafka consumers commit offsets after processing each batch of records",
    "a2": "kafka consumers commit offsets after processing every batch of records",
    "b": "kafka brokers replicate partitions to followers in other racks",
}
MMR_QUERY = "kafka consumers commit offsets"


@pytest.mark.parametrize("embedding", [WordEmbeddings(), None], ids=["embeddings", "own"])
def test_mmr_with_lambda_zero_prefers_the_different_page_over_a_near_duplicate(vm, embedding):
    store = VirtualMemoryVectorStore(vm, embedding)
    store.add_texts(list(MMR_DOCS.values()), ids=list(MMR_DOCS))
    similar = [d.id for d in store.similarity_search(MMR_QUERY, k=2)]
    assert sorted(similar) == ["a", "a2"]  # plain similarity returns both near-duplicates
    diverse = store.max_marginal_relevance_search(MMR_QUERY, k=2, fetch_k=3, lambda_mult=0.0)
    assert [d.id for d in diverse] == [similar[0], "b"]
    assert diverse[0].page_content == MMR_DOCS[similar[0]]
    relevant = store.max_marginal_relevance_search(MMR_QUERY, k=2, fetch_k=3, lambda_mult=1.0)
    assert [d.id for d in relevant] == similar
    everything = store.max_marginal_relevance_search(MMR_QUERY, k=3, fetch_k=10)
    assert sorted(d.id for d in everything) == ["a", "a2", "b"]
    only_b = store.max_marginal_relevance_search(MMR_QUERY, k=2, filter={"x": 1})
    assert only_b == []


def test_mmr_by_vector_uses_the_stored_vectors_and_checks_its_arguments(vm):
    store = VirtualMemoryVectorStore(vm, WordEmbeddings())
    store.add_texts(list(MMR_DOCS.values()), [{"n": i} for i in range(3)], ids=list(MMR_DOCS))
    found = store.max_marginal_relevance_search_by_vector(
        word_vector(MMR_QUERY), k=2, fetch_k=3, lambda_mult=0.0)
    assert len(found) == 2 and found[1].id == "b" and found[1].metadata == {"n": 2}
    assert store.max_marginal_relevance_search_by_vector(word_vector(MMR_QUERY), k=0) == []
    with pytest.raises(vmllm.InvalidArgumentError):
        store.max_marginal_relevance_search(MMR_QUERY, lambda_mult=1.5)

