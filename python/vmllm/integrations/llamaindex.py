"""LlamaIndex integration (``pip install vmllm[llamaindex]``).

* :class:`VirtualMemoryBlock`: a memory block for ``llama_index.core.memory.Memory``. Messages
  that leave the short-term FIFO become pages of a :class:`~vmllm.VirtualMemory` (durable, and
  searchable by meaning and words); each ``get`` faults in the pages that best match the latest
  messages and renders them into the prompt.
* :class:`VirtualMemoryRetriever`: a LlamaIndex ``BaseRetriever`` over a store's pages.

Both share their ``VirtualMemory``, which is thread-safe.
"""

from __future__ import annotations

import uuid
from typing import Any, Optional

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import Field

__all__ = ["VirtualMemoryBlock", "VirtualMemoryRetriever"]


def _message_text(message: ChatMessage) -> str:
    role = getattr(message.role, "value", message.role)
    return f"{role}: {message.content or ''}"


class VirtualMemoryBlock(BaseMemoryBlock[str]):
    """Long-term memory paged by vmllm.

    Args (fields):
        vm: The :class:`~vmllm.VirtualMemory` to page into.
        top_k: Pages brought back for each ``get``.
        doc_prefix: Ejected messages are stored as documents ``"{doc_prefix}/<id>"``.
        search_all_pages: Recall from every page of the store (documents too), or only
            from this block's own conversation pages.
        query_messages: How many of the latest messages form the recall query.
    """

    name: str = Field(default="virtual_memory", description="The block's name.")
    vm: Any = Field(description="The vmllm.VirtualMemory holding the pages.")
    top_k: int = Field(default=3, ge=1)
    doc_prefix: str = Field(default="llamaindex/memory")
    search_all_pages: bool = Field(default=False)
    query_messages: int = Field(default=2, ge=1)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        text = "\n".join(_message_text(m) for m in messages if m.content)
        if text.strip():
            self.vm.ingest(f"{self.doc_prefix}/{uuid.uuid4().hex}", text)

    def _own(self, page_id: str) -> bool:
        return self.search_all_pages or page_id.startswith(self.doc_prefix + "/")

    async def _aget(self, messages: Optional[list[ChatMessage]] = None,
                    **block_kwargs: Any) -> str:
        query = " ".join(str(m.content or "") for m in (messages or [])[-self.query_messages:])
        if not query.strip():
            return ""
        hits = [p for p, _ in self.vm.search(query, n=self.top_k * 4) if self._own(p)]
        sections = []
        for page_id in hits[:self.top_k]:
            sections.append(f"=== [{page_id}] ===\n{self.vm.request_page(page_id)}")
        return "\n".join(sections)

    async def atruncate(self, content: str, tokens_to_truncate: int) -> Optional[str]:
        """Drop whole pages from the end, never cutting one in half."""
        sections = content.split("\n=== [")
        while len(sections) > 1 and tokens_to_truncate > 0:
            tokens_to_truncate -= max(1, len(sections.pop()) // 4)
        return "\n=== [".join(sections) if tokens_to_truncate <= 0 else None


class VirtualMemoryRetriever(BaseRetriever):
    """Retrieves pages as ``TextNode`` s (id = page id), best first; with ``page_in=True`` the
    pages are also faulted into L1."""

    def __init__(self, vm: Any, similarity_top_k: int = 4, mode: str = "hybrid",
                 page_in: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vm = vm
        self.similarity_top_k = similarity_top_k
        self.mode = mode
        self.page_in = page_in

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.vm.search(query_bundle.query_str, n=self.similarity_top_k, mode=self.mode)
        if self.page_in:
            self.vm.fault(query_bundle.query_str, n=self.similarity_top_k)
        nodes = []
        for page_id, score in hits:
            entry = self.vm.page_table[page_id]
            node = TextNode(id_=page_id, text=self.vm.read_page(page_id), metadata={
                "page_id": page_id, "doc_id": entry.doc_id, "chunk_index": entry.chunk_index})
            nodes.append(NodeWithScore(node=node, score=score))
        return nodes
