"""VirtualMemoryMiddleware: message-stream paging for LangChain v1 ``create_agent``.

An agent's request grows every turn because old tool results ride along forever. This
middleware pages a tool result out of the *model request* once it is stale (the model has
answered ``stale_after`` times since it arrived) and large (``min_tokens``): the full text goes
into a :class:`~vmllm.VirtualMemory` and the request carries a short stub naming its page id.
The model gets a ``recall_page`` tool that faults the page back.

Three properties the built-in ``ClearToolUsesEdit`` lacks:

* **Decisions live in agent state** (``vmllm_paged``: tool call id -> page id and stub), made in
  ``before_model`` and persisted by any checkpointer. A decision is made once per tool result;
  later turns only apply it, so nothing re-fires (langchain #37815).
* **Stubs are byte-identical on every later turn**, because the stub text is stored with the
  decision; the provider's prompt cache keeps hitting.
* **A tool call is never separated from its result** (langchain #34282): only a
  ``ToolMessage``'s content is replaced; no message is dropped or reordered.

The agent's full history stays in state; only the request sent to the model is paged, so a
page whose store was lost (a temporary store, a resumed checkpoint in another process) is
restored from the history when the model recalls it. Results
of ``recall_page`` itself are never paged again (a fault pins what it brought back). Sync and
async hooks are both provided. One middleware may serve many threads of one agent.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Awaitable, Sequence
from typing import Annotated, Any, Callable, Optional

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest
from langchain.agents.middleware.types import ModelResponse, PrivateStateAttr
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolMessage
from typing_extensions import NotRequired

from .. import _core
from ..virtual_memory import VirtualMemory
from .langchain import RecallPageTool

_TOKENIZER = _core.approx_tokenizer()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _merge(left: Optional[dict[str, Any]], right: Optional[dict[str, Any]]) -> dict[str, Any]:
    """State reducer: decisions only accumulate; an existing decision is never rewritten."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged.setdefault(key, value)
    return merged


class VirtualMemoryState(AgentState):  # type: ignore[type-arg]
    """Agent state plus the middleware's paging decisions (persisted by checkpointers).

    The reducer must be the last ``Annotated`` item: LangGraph only looks there for one.
    """

    vmllm_paged: NotRequired[Annotated[dict[str, dict[str, Any]], PrivateStateAttr, _merge]]
    vmllm_faults: NotRequired[Annotated[dict[str, str], PrivateStateAttr, _merge]]


def count_tokens(messages: Sequence[BaseMessage]) -> int:
    """Approximate tokens of a message list: contents plus tool-call arguments."""
    total = 0
    for message in messages:
        content = message.content
        total += 4 + _TOKENIZER.count(content if isinstance(content, str) else str(content))
        for call in getattr(message, "tool_calls", None) or ():
            total += _TOKENIZER.count(f"{call['name']}{call['args']}")
    return total


class VirtualMemoryMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Pages stale tool results out of ``create_agent``'s model requests.

    Args:
        vm: Where paged-out results live; ``None`` makes a temporary ``VirtualMemory``.
        stale_after: A tool result is stale once the model has answered this many times
            after it (so the model always sees a fresh result in full at least once).
        min_tokens: Smaller results stay; a stub would save nothing.
        namespace: Prefix of the page ids of paged-out results.

    Attributes:
        request_tokens: Tokens of each model request after paging (for plots).
        events: ``page_out`` and ``fault`` decisions this instance made, in order.
    """

    state_schema = VirtualMemoryState

    def __init__(self, vm: Optional[VirtualMemory] = None, *, stale_after: int = 2,
                 min_tokens: int = 200, namespace: str = "tool") -> None:
        super().__init__()
        self.vm = vm if vm is not None else VirtualMemory()
        self.stale_after = stale_after
        self.min_tokens = min_tokens
        self.namespace = namespace
        self.recall_tool = RecallPageTool(vm=self.vm)
        self.tools = [self.recall_tool]
        self.request_tokens: list[int] = []
        self.events: list[dict[str, Any]] = []

    # --- decisions (before_model): made once, stored in state --------------------------------

    def _decide(self, state: Any) -> Optional[dict[str, Any]]:
        messages: list[AnyMessage] = list(state.get("messages", []))
        paged: dict[str, Any] = state.get("vmllm_paged") or {}
        known_faults: dict[str, str] = state.get("vmllm_faults") or {}
        recall_name = self.recall_tool.name
        calls: dict[str, dict[str, Any]] = {}
        new_faults: dict[str, str] = {}
        new_paged: dict[str, dict[str, Any]] = {}
        answers_after = [0] * (len(messages) + 1)  # model turns after each message
        for index in range(len(messages) - 1, -1, -1):
            message = messages[index]
            answers_after[index] = answers_after[index + 1]
            if isinstance(message, AIMessage):
                answers_after[index] += 1
                for call in message.tool_calls:
                    calls[str(call.get("id"))] = dict(call)
        for index, message in enumerate(messages):
            if not isinstance(message, ToolMessage):
                continue
            call_id = str(message.tool_call_id)
            if message.name == recall_name or calls.get(call_id, {}).get("name") == recall_name:
                if call_id not in known_faults:
                    page = str(calls.get(call_id, {}).get("args", {}).get("page_id", ""))
                    new_faults[call_id] = page
                    self.events.append({"type": "fault", "page_id": page})
                continue
            if call_id in paged or not isinstance(message.content, str):
                continue
            if answers_after[index] < self.stale_after:
                continue
            tokens = _TOKENIZER.count(message.content)
            if tokens < self.min_tokens:
                continue
            doc_id = self._doc_id(call_id)
            self.vm.ingest(doc_id, message.content)
            stub = (f"[vmllm: the result of {message.name or 'this tool call'} was paged out "
                    f"({tokens} tokens). Call {recall_name}(page_id=\"{doc_id}\") to read it "
                    f"again.]")
            new_paged[call_id] = {"page_id": doc_id, "stub": stub, "tokens": tokens}
            self.events.append({"type": "page_out", "tool_call_id": call_id,
                                "page_id": doc_id, "tokens": tokens})
        update: dict[str, Any] = {}
        if new_paged:
            update["vmllm_paged"] = new_paged
        if new_faults:
            update["vmllm_faults"] = new_faults
        return update or None

    def _doc_id(self, call_id: str) -> str:
        safe = _UNSAFE.sub("_", call_id)
        if safe != call_id:  # two ids that sanitise alike must not share a page
            safe = f"{safe}-{zlib.crc32(call_id.encode()):08x}"
        return f"{self.namespace}/{safe}"

    def before_model(self, state: Any, runtime: Any) -> Optional[dict[str, Any]]:
        return self._decide(state)

    async def abefore_model(self, state: Any, runtime: Any) -> Optional[dict[str, Any]]:
        # A page-out is a durable write: keep it off the event loop.
        return await asyncio.to_thread(self._decide, state)

    # --- application (wrap_model_call): stubs in, history untouched --------------------------

    def page_request(self, request: ModelRequest) -> ModelRequest:  # type: ignore[type-arg]
        """The request with every paged-out tool result replaced by its stored stub."""
        state: Any = request.state or {}
        paged: dict[str, Any] = state.get("vmllm_paged") or {}
        messages: list[BaseMessage] = [
            m.model_copy(update={"content": paged[m.tool_call_id]["stub"]})
            if isinstance(m, ToolMessage) and m.tool_call_id in paged else m
            for m in request.messages]
        system: list[BaseMessage] = [request.system_message] if request.system_message else []
        self.request_tokens.append(count_tokens(system + messages))
        return request.override(messages=messages)  # type: ignore[arg-type]

    def wrap_model_call(self, request: ModelRequest,  # type: ignore[type-arg]
                        handler: Callable[[ModelRequest], ModelResponse]  # type: ignore[type-arg]
                        ) -> Any:
        return handler(self.page_request(request))

    # --- faults (wrap_tool_call): a page lost with its store is restored from state ----------

    def _ensure_page(self, request: Any) -> None:
        """Before ``recall_page`` runs: if the page was paged out by this middleware but the
        store no longer has it (a temporary store, another process), re-ingest the original
        from the agent's history, which the checkpointer kept."""
        call = request.tool_call
        if call.get("name") != self.recall_tool.name:
            return
        page_id = str((call.get("args") or {}).get("page_id", "")).split("::chunk_")[0]
        state = request.state if isinstance(request.state, dict) else {}
        paged = state.get("vmllm_paged") or {}
        call_id = next((k for k, v in paged.items() if v.get("page_id") == page_id), None)
        if call_id is None or f"{page_id}::chunk_0000" in self.vm.page_table:
            return
        for message in state.get("messages", []):
            if isinstance(message, ToolMessage) and message.tool_call_id == call_id:
                self.vm.ingest(page_id, str(message.content))
                self.events.append({"type": "restore", "page_id": page_id})
                return

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        self._ensure_page(request)
        return handler(request)

    async def awrap_tool_call(self, request: Any,
                              handler: Callable[[Any], Awaitable[Any]]) -> Any:
        self._ensure_page(request)
        return await handler(request)

    async def awrap_model_call(
            self, request: ModelRequest,  # type: ignore[type-arg]
            handler: Callable[[ModelRequest], Awaitable[ModelResponse]],  # type: ignore[type-arg]
    ) -> Any:
        return await handler(self.page_request(request))
