"""vmllm: virtual memory for LLM context windows.

The context window is L1 of a four-tier hierarchy (L1 context, L2 hot RAM, L3 searchable swap,
L4 durable disk). Text becomes pages; a page table knows where each one is; an eviction policy
decides what leaves the window; a page fault brings back what the model needs.

>>> import vmllm
>>> with vmllm.VirtualMemory(l1_tokens=6000, page_tokens=2000) as vm:
...     ids = vm.ingest("guide", "Circuit breakers stop cascading failures. " * 50)
...     _ = vm.request_page(ids[0])
...     vm.active_pages() == [ids[0]]
True
"""

from __future__ import annotations

try:
    from . import _core
except ImportError as exc:  # pragma: no cover - only without a built extension
    raise ImportError(
        "vmllm's native core (vmllm._core) is missing: did you build it? "
        "Install with `pip install .` from a source checkout after `bash .ci/install`, "
        f"or see the README. ({exc})"
    ) from exc

from .errors import (
    BackendUnavailableError as BackendUnavailableError,
    CapacityError as CapacityError,
    InvalidArgumentError as InvalidArgumentError,
    PageNotFoundError as PageNotFoundError,
    StorageError as StorageError,
    VmllmError as VmllmError,
)
from .conversation_memory import ConversationMemory as ConversationMemory
from .conversation_memory import MemoryBlock as MemoryBlock
from .conversation_memory import ToolResult as ToolResult
from .virtual_memory import PageEntry as PageEntry
from .virtual_memory import PageTableView as PageTableView
from .virtual_memory import VirtualMemory as VirtualMemory
from .agent import AgentResult as AgentResult
from .agent import VirtualMemoryAgent as VirtualMemoryAgent

__version__ = "0.1.0"

__all__ = [
    "VirtualMemory",
    "PageEntry",
    "PageTableView",
    "VmllmError",
    "PageNotFoundError",
    "StorageError",
    "BackendUnavailableError",
    "InvalidArgumentError",
    "CapacityError",
    "eviction_policies",
    "VirtualMemoryAgent",
    "AgentResult",
    "ConversationMemory",
    "MemoryBlock",
    "ToolResult",
]


def eviction_policies() -> list[str]:
    """Names of the eviction policies ``VirtualMemory(policy=...)`` accepts."""
    return list(_core.eviction_policies())
