"""LangChain integration (``pip install vmllm[langchain]``).

* :class:`VirtualMemoryRetriever`: a ``BaseRetriever`` over a store's pages (L3 search).
* :class:`VirtualMemoryVectorStore`: a ``VectorStore`` whose documents are pages of a
  :class:`~vmllm.VirtualMemory`, with ids, metadata and deletion.
* :class:`RecallPageTool` / :class:`SearchMemoryTool` (:func:`memory_tools`): the memory tools.
* :class:`~vmllm.integrations.langchain_middleware.VirtualMemoryMiddleware` (re-exported here):
  message-stream paging for ``langchain.agents.create_agent``, delegated to the native stream
  layer, with its ``vmllm_recall`` tool.

All of them share their ``VirtualMemory``, which is thread-safe.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Optional, Union

from langchain_core.callbacks import CallbackManagerForRetrieverRun, CallbackManagerForToolRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, ToolException
from langchain_core.vectorstores import VectorStore
from pydantic import BaseModel, ConfigDict, Field

from .. import _core
from ..errors import InvalidArgumentError, PageNotFoundError
from ..virtual_memory import VirtualMemory

__all__ = [
    "VirtualMemoryRetriever",
    "VirtualMemoryVectorStore",
    "RecallPageTool",
    "SearchMemoryTool",
    "memory_tools",
    "read_pages",
    "VirtualMemoryMiddleware",
]


def _page_document(vm: VirtualMemory, page_id: str, text: str, score: float) -> Document:
    entry = vm.page_table[page_id]
    return Document(page_content=text, id=page_id, metadata={
        "page_id": page_id, "doc_id": entry.doc_id, "chunk_index": entry.chunk_index,
        "tier": entry.tier, "score": score})


class VirtualMemoryRetriever(BaseRetriever):
    """Retrieves pages of a :class:`~vmllm.VirtualMemory` by meaning and words.

    ``k`` pages are returned, best first (``invoke(query, k=2)`` overrides it per call). With
    ``page_in=True`` the pages are also faulted into L1, as the agent's ``fault`` does;
    otherwise they are read from the store without touching the context window.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vm: Any
    k: int = 4
    mode: str = "hybrid"
    page_in: bool = False

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        hits = self.vm.search(query, n=k, mode=self.mode)
        if self.page_in:
            self.vm.fault(query, n=k)
        return [_page_document(self.vm, page_id, self.vm.read_page(page_id), score)
                for page_id, score in hits]


class VirtualMemoryVectorStore(VectorStore):
    """A LangChain vector store whose documents are pages of a :class:`~vmllm.VirtualMemory`.

    Each document is ingested as ``"{namespace}/{id}"`` (one page, or several if it is longer
    than ``page_tokens``), so agents can search and fault it like any other text. Ids, original
    text, metadata and (with ``embedding``) vectors are kept in a small SQLite side table in the
    store directory. With ``embedding`` the store ranks by cosine similarity of those vectors;
    without, by vmllm's own hybrid search (hashing vectors fused with BM25).

    Args:
        vm: The virtual memory; ``None`` makes a temporary one.
        embedding: Optional LangChain ``Embeddings``.
        namespace: Keeps several stores apart in one ``VirtualMemory``.
    """

    def __init__(self, vm: Optional[VirtualMemory] = None,
                 embedding: Optional[Embeddings] = None, *, namespace: str = "langchain") -> None:
        if "/" in namespace or not namespace:
            raise InvalidArgumentError(f"namespace must be non-empty without '/': {namespace!r}")
        self.vm = vm if vm is not None else VirtualMemory()
        self._embedding = embedding
        self.namespace = namespace
        self._lock = threading.Lock()
        self._db = sqlite3.connect(f"{self.vm.path}/langchain_vectorstore.db",
                                   check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS docs (namespace TEXT, id TEXT, content TEXT, "
            "metadata TEXT, vector TEXT, seq INTEGER, PRIMARY KEY (namespace, id))")

    @property
    def embeddings(self) -> Optional[Embeddings]:
        return self._embedding

    def _doc_id(self, id_: str) -> str:
        return f"{self.namespace}/{id_}"

    # --- writes ----------------------------------------------------------------------------

    def add_texts(self, texts: Iterable[str], metadatas: Optional[list[dict[str, Any]]] = None,
                  *, ids: Optional[list[str]] = None, **kwargs: Any) -> list[str]:
        """Store ``texts`` (replacing any document with the same id); returns their ids."""
        texts = list(texts)
        metadatas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        ids = [i if i is not None else str(uuid.uuid4())
               for i in (ids if ids is not None else [None] * len(texts))]
        if not (len(texts) == len(metadatas) == len(ids)):
            raise InvalidArgumentError("texts, metadatas and ids must have the same length")
        metadata_json = [json.dumps(m) for m in metadatas]  # fail before writing anything
        vectors = (self._embedding.embed_documents(texts) if self._embedding is not None
                   else [None] * len(texts))
        with self._lock:
            (seq,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()
            for offset, (id_, text, meta, vector) in enumerate(
                    zip(ids, texts, metadata_json, vectors)):
                self.vm.ingest(self._doc_id(id_), text)
                self._db.execute(
                    "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?)",
                    (self.namespace, id_, text, meta,
                     None if vector is None else json.dumps(list(vector)), seq + offset + 1))
        return ids

    def delete(self, ids: Optional[list[str]] = None, **kwargs: Any) -> Optional[bool]:
        """Delete documents by id (all of them when ``ids`` is ``None``); unknown ids are
        ignored. The pages are replaced by an empty document in the store."""
        with self._lock:
            if ids is None:
                ids = [r[0] for r in self._db.execute(
                    "SELECT id FROM docs WHERE namespace = ?", (self.namespace,))]
            for id_ in ids:
                if self._db.execute("DELETE FROM docs WHERE namespace = ? AND id = ?",
                                    (self.namespace, id_)).rowcount:
                    self.vm.ingest(self._doc_id(id_), "")
        return True

    # --- reads -----------------------------------------------------------------------------

    def _row_document(self, row: Sequence[Any]) -> Document:
        return Document(id=row[0], page_content=row[1], metadata=json.loads(row[2]))

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        out = []
        with self._lock:
            for id_ in ids:
                row = self._db.execute(
                    "SELECT id, content, metadata FROM docs WHERE namespace = ? AND id = ?",
                    (self.namespace, id_)).fetchone()
                if row is not None:
                    out.append(self._row_document(row))
        return out

    def similarity_search_with_score(
            self, query: str, k: int = 4,
            filter: Optional[Union[dict[str, Any], Callable[[Document], bool]]] = None,
            **kwargs: Any) -> list[tuple[Document, float]]:
        """The ``k`` documents most similar to ``query`` with their scores, best first.
        ``filter`` is a metadata dict (every key must match) or a predicate on a Document."""
        keep = _as_predicate(filter)
        if self._embedding is not None:
            return self._by_vector(self._embedding.embed_query(query), k, keep)
        return self._by_search(query, k, keep)

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, **kwargs)]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4,
                                    **kwargs: Any) -> list[Document]:
        keep = _as_predicate(kwargs.get("filter"))
        return [doc for doc, _ in self._by_vector(embedding, k, keep)]

    def _by_vector(self, query_vector: Sequence[float], k: int,
                   keep: Callable[[Document], bool]) -> list[tuple[Document, float]]:
        return [(doc, score) for doc, score, _ in self._scored(query_vector, k, keep)]

    def _scored(self, query_vector: Sequence[float], k: int, keep: Callable[[Document], bool]
                ) -> list[tuple[Document, float, list[float]]]:
        """The ``k`` best documents by cosine with ``query_vector``, with their vectors."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, content, metadata, vector FROM docs WHERE namespace = ? "
                "ORDER BY seq", (self.namespace,)).fetchall()
        scored = []
        for row in rows:
            if row[3] is None:
                raise InvalidArgumentError(
                    f"document {row[0]!r} was stored without an embedding")
            doc = self._row_document(row)
            if keep(doc):
                vector = json.loads(row[3])
                scored.append((doc, _cosine(query_vector, vector), vector))
        scored.sort(key=lambda triple: -triple[1])  # stable: ties keep insertion order
        return scored[:k]

    # --- maximal marginal relevance --------------------------------------------------------

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20,
                                      lambda_mult: float = 0.5, **kwargs: Any) -> list[Document]:
        """``k`` documents chosen by maximal marginal relevance among the ``fetch_k`` most
        similar to ``query``: each next one maximises ``lambda_mult * similarity to the query
        - (1 - lambda_mult) * its highest similarity to those already chosen``, so
        ``lambda_mult=1`` is plain similarity and ``0`` is the most diverse.

        With ``embedding`` the stored vectors are used. Without, the candidates are the
        ``fetch_k`` best of vmllm's hybrid search and both similarities are cosines of the
        store's own embedder (the ``VirtualMemory``'s: hashing vectors unless it was given
        another), computed for the candidates only. ``filter`` works as in
        :meth:`similarity_search`.
        """
        _check_mmr(k, fetch_k, lambda_mult)
        keep = _as_predicate(kwargs.get("filter"))
        if self._embedding is not None:
            return self.max_marginal_relevance_search_by_vector(
                self._embedding.embed_query(query), k, fetch_k, lambda_mult, **kwargs)
        candidates = [doc for doc, _ in self._by_search(query, fetch_k, keep)]
        if not candidates:
            return []
        vectors = _store_embedder(self.vm)([query] + [d.page_content for d in candidates])
        return [candidates[i] for i in _mmr(vectors[0], vectors[1:], k, lambda_mult)]

    def max_marginal_relevance_search_by_vector(
            self, embedding: list[float], k: int = 4, fetch_k: int = 20,
            lambda_mult: float = 0.5, **kwargs: Any) -> list[Document]:
        """MMR (see :meth:`max_marginal_relevance_search`) over the stored vectors; needs a
        store made with ``embedding``."""
        _check_mmr(k, fetch_k, lambda_mult)
        candidates = self._scored(embedding, fetch_k, _as_predicate(kwargs.get("filter")))
        chosen = _mmr(embedding, [vector for _, _, vector in candidates], k, lambda_mult)
        return [candidates[i][0] for i in chosen]

    def _by_search(self, query: str, k: int,
                   keep: Callable[[Document], bool]) -> list[tuple[Document, float]]:
        prefix = f"{self.namespace}/"
        with self._lock:
            (total,) = self._db.execute("SELECT COUNT(*) FROM docs WHERE namespace = ?",
                                        (self.namespace,)).fetchone()
        n = max(4 * k, 16)
        while True:
            hits = self.vm.search(query, n=n)
            found: dict[str, float] = {}
            for page_id, score in hits:
                doc_id = self.vm.page_table[page_id].doc_id
                if doc_id.startswith(prefix):
                    found.setdefault(doc_id[len(prefix):], score)
            docs = [(d, found[str(d.id)]) for d in self.get_by_ids(list(found)) if keep(d)]
            if len(docs) >= min(k, total) or len(hits) < n:
                return docs[:k]
            n *= 4

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        if self._embedding is not None:
            return lambda score: (score + 1.0) / 2.0  # cosine in [-1, 1]
        return lambda score: score

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Optional[Embeddings] = None,
                   metadatas: Optional[list[dict[str, Any]]] = None, *,
                   ids: Optional[list[str]] = None, **kwargs: Any) -> VirtualMemoryVectorStore:
        store = cls(kwargs.pop("vm", None), embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store


def _as_predicate(filter: Any) -> Callable[[Document], bool]:
    if filter is None:
        return lambda doc: True
    if callable(filter):
        return filter  # type: ignore[no-any-return]
    if isinstance(filter, dict):
        return lambda doc: all(doc.metadata.get(k) == v for k, v in filter.items())
    raise InvalidArgumentError(f"filter must be a dict or a callable, not {type(filter).__name__}")


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _check_mmr(k: int, fetch_k: int, lambda_mult: float) -> None:
    if not 0.0 <= lambda_mult <= 1.0:
        raise InvalidArgumentError(f"lambda_mult must be between 0 and 1, not {lambda_mult!r}")
    if k < 0 or fetch_k < 0:
        raise InvalidArgumentError(f"k and fetch_k must not be negative: {k}, {fetch_k}")


def _mmr(query: Sequence[float], vectors: Sequence[Sequence[float]], k: int,
         lambda_mult: float) -> list[int]:
    """Indexes of ``k`` of ``vectors`` chosen by maximal marginal relevance (Carbonell and
    Goldstein, 1998). The first is always the most similar to the query, as in LangChain's
    own implementation; ties go to the earlier (better-ranked) candidate."""
    if k <= 0 or not vectors:
        return []
    relevance = [_cosine(query, v) for v in vectors]
    chosen = [max(range(len(vectors)), key=lambda i: (relevance[i], -i))]
    redundancy = [_cosine(vectors[chosen[0]], v) for v in vectors]
    while len(chosen) < min(k, len(vectors)):
        best, best_score = -1, -math.inf
        for i, vector in enumerate(vectors):
            score = lambda_mult * relevance[i] - (1.0 - lambda_mult) * redundancy[i]
            if i not in chosen and score > best_score:
                best, best_score = i, score
        chosen.append(best)
        redundancy = [max(r, _cosine(vectors[best], v)) for r, v in zip(redundancy, vectors)]
    return chosen


def _store_embedder(vm: VirtualMemory) -> Callable[[list[str]], list[list[float]]]:
    """The vectors ``vm``'s own semantic search uses: its Python or native embedder, else the
    built-in hashing embedder."""
    backends = getattr(vm, "_llm_backends", None)
    if backends is not None and backends._embed_documents is not None:
        return backends._vectors  # type: ignore[no-any-return]
    native = getattr(backends, "native_embedder", None) or _core.hashing_embedder()
    return lambda texts: [list(native.embed(t)) for t in texts]


# --- memory tools ----------------------------------------------------------------------------

def read_pages(vm: VirtualMemory, page_id: str) -> str:
    """Fault ``page_id`` back in full; a document id (no ``::chunk_``) returns all its pages."""
    try:
        return vm.request_page(page_id, full=True)
    except PageNotFoundError:
        if "::chunk_" in page_id:
            raise
    parts, index = [], 0
    while True:
        try:
            parts.append(vm.request_page(f"{page_id}::chunk_{index:04d}", full=True))
        except PageNotFoundError:
            break
        index += 1
    if not parts:
        raise PageNotFoundError(page_id)
    return "".join(parts)


class RecallPageInput(BaseModel):
    page_id: str = Field(description="The id of a page (doc::chunk_0003) or of a document.")


class SearchMemoryInput(BaseModel):
    query: str = Field(description="The information that is needed, in words.")
    n: int = Field(default=3, ge=1, le=20, description="How many pages to bring in.")


class RecallPageTool(BaseTool):
    """Faults one page (or a whole document) of virtual memory back into the context."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "recall_page"
    description: str = ("Bring a page of memory back in full by its id, e.g. a page that was "
                        "paged out of the conversation.")
    args_schema: type[BaseModel] = RecallPageInput
    handle_tool_error: bool = True
    vm: Any

    def _run(self, page_id: str,
             run_manager: Optional[CallbackManagerForToolRun] = None) -> str:
        try:
            return read_pages(self.vm, page_id)
        except PageNotFoundError as exc:
            raise ToolException(f"No page {page_id!r} exists in memory.") from exc


class SearchMemoryTool(BaseTool):
    """Searches virtual memory by meaning and words and pages the best matches in."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "search_memory"
    description: str = "Search memory for information and bring the best pages into context."
    args_schema: type[BaseModel] = SearchMemoryInput
    vm: Any

    def _run(self, query: str, n: int = 3,
             run_manager: Optional[CallbackManagerForToolRun] = None) -> str:
        pages = self.vm.fault(query, n=n)
        return "\n".join(f"=== [{p}] ===\n{self.vm.request_page(p)}" for p in pages) or (
            "No pages matched.")


def memory_tools(vm: VirtualMemory) -> list[BaseTool]:
    """``[recall_page, search_memory]`` bound to ``vm``."""
    return [RecallPageTool(vm=vm), SearchMemoryTool(vm=vm)]


def __getattr__(name: str) -> Any:
    if name == "VirtualMemoryMiddleware":  # needs `langchain`, not only `langchain-core`
        from .langchain_middleware import VirtualMemoryMiddleware
        return VirtualMemoryMiddleware
    raise AttributeError(name)
