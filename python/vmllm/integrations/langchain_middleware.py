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
async hooks are both provided.

**Content blocks.** A tool result may be a string or a list of content blocks (what MCP tools
return, ``[{"type": "text", "text": ...}, ...]``). The text of its text blocks, joined by
newlines, is the page; the request then carries one stub text block where the first text block
was, and every non-text block (an image, a file) stays in place unchanged: it cannot be paged as
text, and dropping it would lose something the model could never recall.

**Threads.** One middleware may serve many threads of one agent. Page ids are scoped to the
conversation, ``{namespace}/{thread}/{tool_call_id}``, with the LangGraph ``thread_id`` of the
run. Without one (no checkpointer), the scope is ``~`` plus a hash of the conversation's first
message (its id, which LangGraph assigns as a fresh uuid, and its content), so two
conversations never share a page even when their tool call ids collide. A recall of a page in
the middleware's namespace is answered only if *this* thread paged it out (its ``vmllm_paged``
state names it); any other is refused with a tool error, so one thread can never read
another's result.
"""

from __future__ import annotations

import asyncio
import hashlib
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


def _is_text_block(block: Any) -> bool:
    return isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")


def _block_text(block: Any) -> str:
    return block if isinstance(block, str) else str(block.get("text", ""))


def content_text(content: Any) -> str:
    """The pageable text of a message's content: the string itself, or the text of its text
    blocks joined by newlines (non-text blocks have no text to page)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_block_text(b) for b in content if _is_text_block(b))
    return str(content)


def _stub_content(content: Any, stub: str) -> Any:
    """``content`` with its text replaced by ``stub``: a string becomes the stub; in a block
    list the first text block becomes the stub block, the other text blocks go, and non-text
    blocks stay where they were. Deterministic, so the request is byte-identical every turn."""
    if not isinstance(content, list):
        return stub
    out: list[Any] = []
    stubbed = False
    for block in content:
        if not _is_text_block(block):
            out.append(block)
        elif not stubbed:
            out.append({"type": "text", "text": stub})
            stubbed = True
    return out


def count_tokens(messages: Sequence[BaseMessage]) -> int:
    """Approximate tokens of a message list: contents plus tool-call arguments."""
    total = 0
    for message in messages:
        content = message.content
        text = content_text(content)
        if isinstance(content, list):  # non-text blocks count too (as their JSON-ish text)
            text += "".join(str(b) for b in content if not _is_text_block(b))
        total += 4 + _TOKENIZER.count(text)
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

    def _decide(self, state: Any, scope: str) -> Optional[dict[str, Any]]:
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
                # A failed recall (refused, unknown page) brought nothing back: no fault.
                if call_id not in known_faults and message.status != "error":
                    page = str(calls.get(call_id, {}).get("args", {}).get("page_id", ""))
                    new_faults[call_id] = page
                    self.events.append({"type": "fault", "page_id": page})
                continue
            if call_id in paged or answers_after[index] < self.stale_after:
                continue
            text = content_text(message.content)
            tokens = _TOKENIZER.count(text)
            if tokens < self.min_tokens:
                continue
            doc_id = self._doc_id(call_id, scope)
            self.vm.ingest(doc_id, text)
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

    def _doc_id(self, call_id: str, scope: str) -> str:
        """``{namespace}/{scope}/{call id}``; ``scope`` comes from :meth:`scope` (no ``/``)."""
        return f"{self.namespace}/{scope}/{_safe(call_id)}"

    @staticmethod
    def scope(state: Any, runtime: Any = None) -> str:
        """The conversation a run belongs to, as a page-id segment: the LangGraph thread id,
        else ``~`` and a hash of the first message (``~`` never survives :func:`_safe`, so
        the two kinds cannot collide)."""
        thread_id = _thread_id(runtime)
        if thread_id is not None:
            return _safe(thread_id)
        messages = list(state.get("messages", []) if isinstance(state, dict) else [])
        first = messages[0] if messages else None
        # LangGraph's add_messages gives every message a fresh uuid, so the id alone tells
        # conversations apart; the content keeps the hash meaningful for id-less messages.
        seed = "" if first is None else f"{first.id}\0{first.type}\0{first.content}"
        return "~" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def before_model(self, state: Any, runtime: Any) -> Optional[dict[str, Any]]:
        return self._decide(state, self.scope(state, runtime))

    async def abefore_model(self, state: Any, runtime: Any) -> Optional[dict[str, Any]]:
        # A page-out is a durable write: keep it off the event loop.
        return await asyncio.to_thread(self._decide, state, self.scope(state, runtime))

    # --- application (wrap_model_call): stubs in, history untouched --------------------------

    def page_request(self, request: ModelRequest) -> ModelRequest:  # type: ignore[type-arg]
        """The request with every paged-out tool result replaced by its stored stub."""
        state: Any = request.state or {}
        paged: dict[str, Any] = state.get("vmllm_paged") or {}
        messages: list[BaseMessage] = [
            m.model_copy(update={"content": _stub_content(m.content,
                                                          paged[m.tool_call_id]["stub"])})
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

    def _ensure_page(self, request: Any) -> Optional[ToolMessage]:
        """Before ``recall_page`` runs. A page of this middleware's namespace that this thread
        did not page out is refused (the returned error replaces the call): it belongs to
        another conversation. If this thread's page is missing from the store (a temporary
        store, another process), the original is re-ingested from the agent's history, which
        the checkpointer kept."""
        call = request.tool_call
        if call.get("name") != self.recall_tool.name:
            return None
        page_id = str((call.get("args") or {}).get("page_id", "")).split("::chunk_")[0]
        state = request.state if isinstance(request.state, dict) else {}
        paged = state.get("vmllm_paged") or {}
        call_id = next((k for k, v in paged.items() if v.get("page_id") == page_id), None)
        if call_id is None:
            if page_id.startswith(f"{self.namespace}/"):
                self.events.append({"type": "refused", "page_id": page_id})
                return ToolMessage(content=f"No page {page_id!r} exists in this conversation.",
                                   tool_call_id=str(call.get("id")), name=call.get("name"),
                                   status="error")
            return None  # not a tool result (a document in the store): the tool decides
        if f"{page_id}::chunk_0000" in self.vm.page_table:
            return None
        for message in state.get("messages", []):
            if isinstance(message, ToolMessage) and message.tool_call_id == call_id:
                self.vm.ingest(page_id, content_text(message.content))
                self.events.append({"type": "restore", "page_id": page_id})
                break
        return None

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        refused = self._ensure_page(request)
        return refused if refused is not None else handler(request)

    async def awrap_tool_call(self, request: Any,
                              handler: Callable[[Any], Awaitable[Any]]) -> Any:
        refused = await asyncio.to_thread(self._ensure_page, request)
        return refused if refused is not None else await handler(request)

    async def awrap_model_call(
            self, request: ModelRequest,  # type: ignore[type-arg]
            handler: Callable[[ModelRequest], Awaitable[ModelResponse]],  # type: ignore[type-arg]
    ) -> Any:
        return await handler(self.page_request(request))


def _safe(value: str) -> str:
    """``value`` as one page-id segment; two values that sanitise alike still differ."""
    safe = _UNSAFE.sub("_", value)
    if safe != value:
        safe = f"{safe}-{zlib.crc32(value.encode('utf-8', 'surrogatepass')):08x}"
    return safe


def _thread_id(runtime: Any) -> Optional[str]:
    """The LangGraph thread id of the current run, or ``None`` when it has none."""
    info = getattr(runtime, "execution_info", None)  # langgraph >= 1.1
    thread_id = getattr(info, "thread_id", None)
    if thread_id is None:
        config = getattr(runtime, "config", None)  # a ToolRuntime carries its config
        if config is None:
            try:
                from langgraph.config import get_config
                config = get_config()
            except (ImportError, RuntimeError):  # outside a run: no config to read
                config = None
        thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    return None if thread_id is None else str(thread_id)
