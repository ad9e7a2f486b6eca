"""LlamaIndex: the memory block inside Memory, and the retriever."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.llms.types import ChatMessage  # noqa: E402
from llama_index.core.memory import Memory  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from conftest import paragraphs  # noqa: E402
from vmllm.integrations.llamaindex import VirtualMemoryBlock, VirtualMemoryRetriever  # noqa: E402


def chatter(i: int) -> str:
    return f"Message {i} is small talk about the weather and lunch plans for the team. " * 3


async def test_messages_ejected_from_memory_are_paged_and_recalled_into_the_prompt(vm):
    block = VirtualMemoryBlock(vm=vm, top_k=1)
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        await _converse(vm, Memory.from_defaults(
            session_id="s", token_limit=300, token_flush_size=100, chat_history_token_ratio=0.5,
            memory_blocks=[block], async_engine=engine))
    finally:
        await engine.dispose()  # LlamaIndex never closes the chat store's connection


async def _converse(vm, memory) -> None:
    await memory.aput(ChatMessage(role="user", content="The vault code is 4711 for the depot."))
    for i in range(12):
        await memory.aput(ChatMessage(role="assistant" if i % 2 else "user",
                                      content=chatter(i)))
    paged = [p for p in vm.page_table if p.startswith("llamaindex/memory/")]
    assert paged, "nothing left the FIFO into virtual memory"
    await memory.aput(ChatMessage(role="user", content="What is the vault code for the depot?"))
    messages = await memory.aget()
    system = messages[0]
    assert system.role.value == "system"
    assert "vault code is 4711" in system.content
    assert "virtual_memory" in system.content
    recalled = [p for p in vm.active_pages() if p.startswith("llamaindex/memory/")]
    assert len(recalled) == 1 and "4711" in vm.read_page(recalled[0])
    # The fact is no longer in the short-term history itself.
    assert not any("4711" in str(m.content) for m in messages[1:])


async def test_block_recalls_documents_only_when_asked_to(vm):
    vm.ingest("guide", "The depot opens at 06:00 and closes at 22:00.\n\n" + paragraphs(3))
    question = [ChatMessage(role="user", content="When does the depot open?")]
    assert await VirtualMemoryBlock(vm=vm).aget(question) == ""
    text = await VirtualMemoryBlock(vm=vm, search_all_pages=True, top_k=1).aget(question)
    assert text.startswith("=== [guide::chunk_0000] ===") and "06:00" in text


async def test_truncate_drops_whole_pages_from_the_end():
    content = "=== [a] ===\n" + "x" * 400 + "\n=== [b] ===\n" + "y" * 400
    block = VirtualMemoryBlock(vm=None)
    assert await block.atruncate(content, 50) == "=== [a] ===\n" + "x" * 400
    assert await block.atruncate(content, 10_000) is None


def test_retriever_returns_page_nodes_best_first_and_can_page_in(vm):
    ids = vm.ingest("guide", paragraphs(20))
    nodes = VirtualMemoryRetriever(vm, similarity_top_k=2).retrieve("Section 7 about topic 7")
    assert len(nodes) == 2 and {n.node.node_id for n in nodes} <= set(ids)
    assert [n.node.node_id for n in nodes] == vm.semantic_find("Section 7 about topic 7", n=2)
    assert nodes[0].score >= nodes[1].score
    assert nodes[0].node.get_content() == vm.read_page(nodes[0].node.node_id)
    assert nodes[0].node.metadata["doc_id"] == "guide"
    assert vm.active_pages() == []
    VirtualMemoryRetriever(vm, similarity_top_k=2, page_in=True).retrieve("Section 7")
    assert len(vm.active_pages()) == 2
