"""VirtualMemoryMiddleware: message-stream paging for LangChain v1 ``create_agent``.

An agent's request grows every turn because old tool results ride along forever. This
middleware runs every model request through vmllm's native stream layer
(:class:`vmllm._core.StreamSession`, the same engine the proxy uses) and sends the model what it
returns: a tool result that is stale (the model has answered ``stale_after`` times since it
arrived) and large (``min_tokens``) leaves the request as a stub naming its page,

    [vmllm: paged out p-<16 hex>: TOOL KEY, N bytes. vmllm_recall brings it back.]

The middleware makes no paging decision itself: which results leave, when, and the stub text
all come from the stream layer. It only translates: the request's system message and messages
become an OpenAI Chat Completions body (``convert_to_openai_messages``), and every tool result
whose content the stream layer replaced gets that content in the LangChain request.

Properties:

* **Pages are content-addressed** (``p-`` + a hash of the result's text) and **stubs are
  byte-identical on every later request**, so the provider's prompt cache keeps hitting.
* **Recall.** The model gets a ``vmllm_recall(page_ids)`` tool (in :attr:`tools`, so
  ``create_agent`` registers it). It returns the pages' text from *this* conversation's session
  and refuses, as a tool error, any id that session does not hold: one thread can never read
  another's result. On the next request the stream layer sees the recall in the history,
  restores the recalled results in place, where they were, and pins them (a later result of the
  same call stays in full too); the recall's own result then carries the stream layer's short
  confirmation, so the text is in the request once. Re-issuing the same tool call while its
  result is paged out is a fault too and pins it.
* **A tool call is never separated from its result**: only a ``ToolMessage``'s content is
  replaced; no message is dropped or reordered. The agent's full history stays in state; only
  the request sent to the model is paged.
* **Durable.** Each conversation is one stream session kept in the
  :class:`~vmllm.VirtualMemory`'s store, in space ``stream:<name>`` (``name`` hashes
  ``{namespace}/{scope}``; see :meth:`VirtualMemoryMiddleware.space`). With a store on a path,
  a resumed checkpoint in another process (a new middleware on the same store) continues with
  the same stubs, pins and fault history. With a temporary or lost store, the session is rebuilt
  from the history the checkpointer kept: every tool result in it becomes a page again on the
  first request (and the stubs come out the same, being content-addressed), so a recall still
  works; a recall whose model call ran in another process rebuilds the session from the
  history it finds in state before it answers.

**Content blocks.** A tool result may be a string or a list of content blocks (what MCP tools
return, ``[{"type": "text", "text": ...}, ...]``). The text of its text blocks, joined by
newlines, is the page; the request then carries one stub text block where the first text block
was, and every non-text block (an image, a file) stays in place unchanged: it cannot be paged as
text, and dropping it would lose something the model could never recall.

**Threads.** One middleware may serve many threads of one agent: each conversation has its own
session, scoped by the LangGraph ``thread_id`` of the run. Without one (no checkpointer), the
scope is ``~`` plus a hash of the conversation's first message (its id, which LangGraph assigns
as a fresh uuid, and its content), so two conversations never share a session.

**Tool schemas.** The stream layer can also stub the schemas of tools the conversation has not
used yet and inject its memory tools into a request's ``tools``. Neither can be reflected
faithfully in a LangChain request (a stubbed schema would have to become a provider "built-in"
dict the agent does not validate, and an injected tool would have no executor), so the sessions
run with ``stub_unused_tools=False`` and ``inject_memory_tools=False``, and ``vmllm_recall`` is
a real LangChain tool instead.

Agent state no longer holds paging decisions; the ``vmllm_paged`` / ``vmllm_faults`` fields of
earlier versions stay in :class:`VirtualMemoryState`, unused, so checkpoints that carry them
still load.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import zlib
from collections.abc import Awaitable, Sequence
from typing import Annotated, Any, Callable, Optional

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest
from langchain.agents.middleware.types import ModelResponse, PrivateStateAttr
from langchain.tools import ToolRuntime
from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
from langchain_core.messages import BaseMessage, ToolMessage, convert_to_openai_messages
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field
from typing_extensions import NotRequired

from .. import _core
from .._stream_sessions import StreamSessions, session_name
from ..errors import PageNotFoundError, VmllmError
from ..virtual_memory import VirtualMemory

_log = logging.getLogger(__name__)
_TOKENIZER = _core.approx_tokenizer()
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")

#: The model-facing recall tool; the stream layer recognises it by this name.
RECALL_TOOL = "vmllm_recall"
# The stream layer's other memory tools. The middleware does not offer them, so a call of one
# is a hallucination the tool node already answered with an error; renamed in the body, it
# cannot make the stream layer release pages or fold turns.
_NOT_OFFERED = ("vmllm_release", "vmllm_compact")
_BYTES_PER_TOKEN = 4


def _merge(left: Optional[dict[str, Any]], right: Optional[dict[str, Any]]) -> dict[str, Any]:
    """State reducer of the legacy fields: entries only accumulate."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged.setdefault(key, value)
    return merged


class VirtualMemoryState(AgentState):  # type: ignore[type-arg]
    """Agent state plus two legacy fields, never written now.

    Earlier versions kept their paging decisions here; the fields remain (optional, with their
    reducer) so that checkpoints written by those versions still load. The reducer must be the
    last ``Annotated`` item: LangGraph only looks there for one.
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
    """``content`` with its text replaced by ``stub`` (the stream layer's text): a string
    becomes the stub; in a block list the first text block becomes the stub block, the other
    text blocks go, and non-text blocks stay where they were. Deterministic, so the request is
    byte-identical every turn."""
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
    if not stubbed:
        out.insert(0, {"type": "text", "text": stub})
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


def openai_body(system: Optional[BaseMessage], messages: Sequence[BaseMessage]
                ) -> tuple[dict[str, Any], list[Optional[int]]]:
    """An OpenAI Chat Completions body for the stream layer, and for each LangChain message the
    index of the body message that is its tool result (``None`` for any other message)."""
    body_messages: list[dict[str, Any]] = []
    if system is not None:
        body_messages.extend(convert_to_openai_messages([system]))
    result_at: list[Optional[int]] = []
    for message in messages:
        converted = convert_to_openai_messages([message])
        is_result = (isinstance(message, ToolMessage) and len(converted) == 1
                     and converted[0].get("role") == "tool")
        result_at.append(len(body_messages) if is_result else None)
        for item in converted:
            for call in item.get("tool_calls") or ():
                function = call.get("function") or {}
                if function.get("name") in _NOT_OFFERED:
                    function["name"] = f"not-offered:{function['name']}"
        body_messages.extend(converted)
    return {"messages": body_messages}, result_at


class RecallInput(BaseModel):
    page_ids: list[str] = Field(
        description='Page ids named in "[vmllm: paged out p-...]" stubs, e.g. ["p-0123abcd..."].')


class VirtualMemoryMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Pages stale tool results out of ``create_agent``'s model requests, through the native
    stream layer (see the module docstring).

    Args:
        vm: The store the conversations' sessions live in (space ``stream:<name>`` each);
            ``None`` makes a temporary ``VirtualMemory``.
        stale_after: The stream layer's ``tau_turns``: a tool result is stale once the model
            has answered this many times after it (so the model always sees a fresh result in
            full at least once).
        min_tokens: Smaller results stay; a stub would save nothing. The stream layer measures
            bytes: this becomes ``min_evict_bytes = min_tokens * 4`` (about 4 bytes a token).
        namespace: Part of every session's key, ``{namespace}/{scope}``: two middlewares with
            different namespaces on one store never share a session.
        cache_aware: The stream layer's cache-aware batching: evictions are held back until
            the tokens they save outweigh re-writing the provider's cached prefix, then applied
            together.
        max_live: How many conversations' sessions are held as objects; one dropped from that
            set is reloaded from the store on its next request.

    Attributes:
        request_tokens: Tokens of each model request after paging (for plots).
        events: What the stream layer reported, in order: ``page_out`` (``count`` results newly
            stubbed), ``fault`` (``count`` recalls or re-issued calls), ``rebuild`` (a session
            built from the history the checkpointer kept, ``pages`` pages), ``refused`` (a
            recall of a page this conversation does not hold) and ``error`` (the session's
            store failed; the request went unchanged). Each names its ``scope``. The same
            dicts go to the run's LangChain callback handlers as custom events named
            ``"vmllm"`` (``on_custom_event``), so a tracer sees what paging did to each call.
    """

    state_schema = VirtualMemoryState

    def __init__(self, vm: Optional[VirtualMemory] = None, *, stale_after: int = 2,
                 min_tokens: int = 200, namespace: str = "tool", cache_aware: bool = False,
                 max_live: int = 1000) -> None:
        super().__init__()
        self.vm = vm if vm is not None else VirtualMemory()
        self.stale_after = stale_after
        self.min_tokens = min_tokens
        self.namespace = namespace
        self.sessions = StreamSessions(
            self.vm, max_live=max_live, tau_turns=stale_after,
            min_evict_bytes=max(0, min_tokens) * _BYTES_PER_TOKEN, cache_aware=cache_aware,
            stub_unused_tools=False, inject_memory_tools=False)
        self.recall_tool = self._make_recall_tool()
        self.tools: list[BaseTool] = [self.recall_tool]
        self.request_tokens: list[int] = []
        self.events: list[dict[str, Any]] = []

    # --- sessions: one per conversation, in the store -----------------------------------------

    @staticmethod
    def scope(state: Any, runtime: Any = None) -> str:
        """The conversation a run belongs to: the LangGraph thread id, else ``~`` and a hash of
        the first message (``~`` never survives :func:`_safe`, so the two kinds cannot
        collide)."""
        thread_id = _thread_id(runtime)
        if thread_id is not None:
            return _safe(thread_id)
        messages = list(state.get("messages", []) if isinstance(state, dict) else [])
        first = messages[0] if messages else None
        # LangGraph's add_messages gives every message a fresh uuid, so the id alone tells
        # conversations apart; the content keeps the hash meaningful for id-less messages.
        seed = "" if first is None else f"{first.id}\0{first.type}\0{first.content}"
        return "~" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def session_key(self, scope: str) -> str:
        return f"{self.namespace}/{scope}"

    def session(self, scope: str) -> Any:
        """The stream session of conversation ``scope`` (resumed from the store if it exists)."""
        return self.sessions.get(self.session_key(scope))

    def space(self, scope: str) -> str:
        """The store space holding conversation ``scope``'s pages and state."""
        return "stream:" + session_name(self.session_key(scope))

    # --- the model request: through the stream layer --------------------------------------------

    def _rewrite(self, scope: str, system: Optional[BaseMessage],
                 messages: Sequence[BaseMessage]) -> Optional[list[BaseMessage]]:
        """``messages`` as the stream layer rewrote them, or ``None`` if it could not (the
        request then goes unchanged, as the proxy forwards it)."""
        if system is None and not messages:
            return None
        try:
            body, result_at = openai_body(system, messages)
            session = self.session(scope)
            out, report = session.rewrite("openai", json.dumps(body))
            rewritten = json.loads(out)["messages"]
            if len(rewritten) != len(body["messages"]):
                raise ValueError("the stream layer changed the number of messages")
            stats = session.stats() if any(i is not None for i in result_at) else None
        except (VmllmError, ValueError, TypeError) as exc:
            _log.warning("vmllm middleware: stream session of %r failed (%s); request sent "
                         "unchanged", scope, exc)
            self.events.append({"type": "error", "scope": scope, "error": str(exc)})
            return None
        if stats is not None and stats["requests"] == 1:
            self.events.append({"type": "rebuild", "scope": scope, "pages": stats["pages"]})
        if report["new_evictions"]:
            self.events.append({"type": "page_out", "scope": scope,
                                "count": report["new_evictions"]})
        if report["new_faults"]:
            self.events.append({"type": "fault", "scope": scope, "count": report["new_faults"]})
        out_messages = list(messages)
        for index, at in enumerate(result_at):
            if at is None:
                continue
            before, after = body["messages"][at].get("content"), rewritten[at].get("content")
            if after != before and isinstance(after, str):
                message = messages[index]
                out_messages[index] = message.model_copy(
                    update={"content": _stub_content(message.content, after)})
        return out_messages

    def page_request(self, request: ModelRequest) -> ModelRequest:  # type: ignore[type-arg]
        """The request as the stream layer rewrote it: stale tool results as stubs, recalled
        ones restored, memory-tool results as the layer's confirmations."""
        state: Any = request.state or {}
        scope = self.scope(state, request.runtime)
        messages = self._rewrite(scope, request.system_message, request.messages)
        if messages is None:
            messages = list(request.messages)
        system: list[BaseMessage] = [request.system_message] if request.system_message else []
        self.request_tokens.append(count_tokens(system + messages))
        return request.override(messages=messages)  # type: ignore[arg-type]

    def wrap_model_call(self, request: ModelRequest,  # type: ignore[type-arg]
                        handler: Callable[[ModelRequest], ModelResponse]  # type: ignore[type-arg]
                        ) -> Any:
        seen = len(self.events)
        paged = self.page_request(request)
        for event in self.events[seen:]:
            _dispatch(event)
        return handler(paged)

    async def awrap_model_call(
            self, request: ModelRequest,  # type: ignore[type-arg]
            handler: Callable[[ModelRequest], Awaitable[ModelResponse]],  # type: ignore[type-arg]
    ) -> Any:
        seen = len(self.events)
        # A rewrite makes new pages durable: keep it off the event loop.
        paged = await asyncio.to_thread(self.page_request, request)
        for event in self.events[seen:]:
            await _adispatch(event)
        return await handler(paged)

    # --- the recall tool ----------------------------------------------------------------------

    def recall(self, page_ids: list[str], state: Any, runtime: Any = None) -> str:
        """The text of ``page_ids`` from the session of the conversation ``state`` belongs to.
        Raises :class:`ToolException` naming any id that session does not hold."""
        if not page_ids:
            raise ToolException("Pass the page ids named in [vmllm: paged out ...] stubs.")
        scope = self.scope(state, runtime)
        session = self.session(scope)
        texts, missing = _read(session, page_ids)
        messages = list(state.get("messages", []) if isinstance(state, dict) else [])
        if missing and messages:
            # The model call that named these pages may have run in another process, or
            # against a store since lost: catch up (or rebuild) from the checkpointed history.
            if self._rewrite(scope, None, messages) is not None:
                found, missing = _read(session, missing)
                texts.update(found)
        if missing:
            for page_id in missing:
                self.events.append({"type": "refused", "scope": scope, "page_id": page_id})
            raise ToolException("No page " + ", ".join(repr(p[:80]) for p in missing)
                                + " exists in this conversation.")
        if len(page_ids) == 1:
            return texts[page_ids[0]]
        return "\n".join(f"=== {p} ===\n{texts[p]}" for p in dict.fromkeys(page_ids))

    def _make_recall_tool(self) -> BaseTool:
        def vmllm_recall(page_ids: list[str], runtime: ToolRuntime) -> str:
            return self.recall(page_ids, runtime.state, runtime)

        async def avmllm_recall(page_ids: list[str], runtime: ToolRuntime) -> str:
            return await asyncio.to_thread(self.recall, page_ids, runtime.state, runtime)

        return StructuredTool.from_function(
            func=vmllm_recall, coroutine=avmllm_recall, name=RECALL_TOOL,
            description=("Bring paged-out tool results back in full. Pass the page ids named in "
                         "[vmllm: paged out ...] stubs."),
            args_schema=RecallInput, handle_tool_error=True)


def _read(session: Any, page_ids: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    texts: dict[str, str] = {}
    missing: list[str] = []
    for page_id in page_ids:
        try:
            texts[page_id] = session.page(page_id)
        except PageNotFoundError:
            missing.append(page_id)
    return texts, missing


#: The name of the LangChain custom events the middleware dispatches (``on_custom_event``).
CALLBACK_EVENT = "vmllm"


def _dispatch(event: dict[str, Any]) -> None:
    """``event`` to the run's callback handlers (``on_custom_event("vmllm", event)``); outside
    a run there are none to tell."""
    try:
        dispatch_custom_event(CALLBACK_EVENT, dict(event))
    except RuntimeError:  # No parent run: called outside an agent.
        pass


async def _adispatch(event: dict[str, Any]) -> None:
    try:
        await adispatch_custom_event(CALLBACK_EVENT, dict(event))
    except RuntimeError:
        pass


def _safe(value: str) -> str:
    """``value`` as one key segment; two values that sanitise alike still differ."""
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
