"""ConversationMemory: MemGPT-style memory for a chat that must go on for weeks.

The main context sent to the model is the system instructions with the working-memory blocks,
the recursive summary of everything evicted, and a FIFO queue of recent messages. A
memory-pressure warning enters the queue at ``warn_fraction`` of the window; at
``flush_fraction`` the oldest messages are evicted down to ``target_fraction``, never separating
a tool call from its results, and folded into the summary. Every message stays in recall
storage (searchable by words, meaning and date); archival storage holds free-form passages.
All of it lives in ``<path>/store.db`` (the store a :class:`~vmllm.VirtualMemory` on the same
path opens too) and survives a restart.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Union, overload

from . import _backends, _config, _core, _json_limits
from ._llm import Backends
from .errors import InvalidArgumentError
from .tokenizers import TokenizerSpec

__all__ = ["ConversationMemory", "MemoryBlock", "ToolResult"]

_log = logging.getLogger(__name__)

Message = Mapping[str, Any]
#: A summariser: any callable from text to its summary (an LLM call, a LangChain chain, ...).
Summarizer = Callable[[str], str]
DateLike = Union[_dt.datetime, _dt.date, float, int, str]


@dataclass(frozen=True)
class MemoryBlock:
    """One working-memory block: ``limit`` counts characters of ``value``.

    Blocks with the same ``block_id`` are one block, shared by every agent that attaches it;
    an empty ``block_id`` means ``"<agent_id>/<label>"``.
    """

    label: str
    value: str = ""
    limit: int = 2000
    description: str = ""
    read_only: bool = False
    block_id: str = ""

    def _as_tuple(self) -> tuple[str, str, str, int, str, bool]:
        return (self.block_id, self.label, self.value, self.limit, self.description,
                self.read_only)


@dataclass(frozen=True)
class ToolResult:
    """What one memory tool call did.

    ``message`` is the OpenAI tool message for the model; ``heartbeat`` is true when the model
    asked to run again at once (``request_heartbeat``) or the call failed, so it can retry.
    """

    tool_call_id: str
    name: str
    ok: bool
    heartbeat: bool
    content: dict[str, Any]
    message: Optional[dict[str, Any]]
    appended: bool


def _to_block(block: Union[MemoryBlock, Mapping[str, Any]]) -> MemoryBlock:
    if isinstance(block, MemoryBlock):
        return block
    if isinstance(block, Mapping):
        try:
            return MemoryBlock(**block)
        except TypeError as exc:
            raise InvalidArgumentError(f"bad memory block {dict(block)!r}: {exc}") from None
    raise InvalidArgumentError(f"a memory block must be a MemoryBlock or a dict, not {block!r}")


def _blocks_arg(blocks: Any) -> list[MemoryBlock]:
    if blocks is None:
        return []
    if isinstance(blocks, Mapping) and all(isinstance(v, str) for v in blocks.values()):
        return [MemoryBlock(label=k, value=v) for k, v in blocks.items()]
    return [_to_block(b) for b in blocks]


def _json_arg(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError as e:
            raise InvalidArgumentError(f"{what} is not valid UTF-8 (byte {e.start})") from None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _json_limits.dumps(value, what, ensure_ascii=False)
    dump = getattr(value, "model_dump", None)  # pydantic objects from the openai/anthropic SDKs
    if callable(dump):
        return _json_limits.dumps(dump(), what, ensure_ascii=False)
    raise InvalidArgumentError(f"{what} must be a dict or JSON text, not {type(value).__name__}")


def _epoch(value: Optional[DateLike], end: bool) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            value = (_dt.datetime.fromisoformat(value) if len(value) > 10
                     else _dt.date.fromisoformat(value))
        except ValueError:
            raise InvalidArgumentError(f"{value!r} is not an ISO date") from None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, _dt.date):
        start = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
        return start.timestamp() + (86400.0 - 1e-3 if end else 0.0)
    raise InvalidArgumentError(f"a date must be a datetime, date, epoch seconds or ISO text, "
                               f"not {value!r}")


def _anthropic_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI message content (text, or a list of parts) as Anthropic content blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        return [{"type": "text", "text": json.dumps(content, ensure_ascii=False)}]
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            part = {"type": "text", "text": part}
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "refusal"):
            text = part.get("text", part.get("refusal")) or ""
            if text:
                blocks.append({"type": "text", "text": str(text)})
        elif kind == "image_url":
            url = part.get("image_url", {})
            url = url.get("url", "") if isinstance(url, dict) else str(url)
            if url.startswith("data:") and ";base64," in url:
                media_type, data = url[5:].split(";base64,", 1)
                source = {"type": "base64", "media_type": media_type, "data": data}
            else:
                source = {"type": "url", "url": url}
            blocks.append({"type": "image", "source": source})
        else:  # already an Anthropic block, or one it may know: passed through
            blocks.append(dict(part))
    return blocks


def _tool_input(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        if isinstance(arguments, str) and arguments:
            # Stored arguments are a model's text: possibly deeper than json can recurse.
            _json_limits.check(arguments, "tool call arguments", "message_bytes")
            parsed = json.loads(arguments)
        else:
            parsed = {}
    except (ValueError, InvalidArgumentError):
        parsed = None
    # Anthropic requires an object; keep anything else verbatim rather than lose it.
    return parsed if isinstance(parsed, dict) else {"arguments": arguments}


def _to_anthropic(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenAI Chat Completions messages as an Anthropic Messages request's system and
    messages (see :meth:`ConversationMemory.messages`)."""
    system: list[str] = []
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = "\n".join(b["text"] for b in _anthropic_blocks(message.get("content"))
                             if b.get("type") == "text")
            if not turns:  # the leading system messages are the system prompt
                if text:
                    system.append(text)
                continue
            role, blocks = "user", ([{"type": "text", "text": text}] if text else [])
        elif role == "assistant":
            blocks = _anthropic_blocks(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                blocks.append({"type": "tool_use", "id": call.get("id"),
                               "name": function.get("name"),
                               "input": _tool_input(function.get("arguments"))})
        elif role == "tool":
            result: dict[str, Any] = {"type": "tool_result",
                                      "tool_use_id": message.get("tool_call_id")}
            content = _anthropic_blocks(message.get("content"))
            if content:
                result["content"] = content
            role, blocks = "user", [result]
        else:
            role, blocks = "user", _anthropic_blocks(message.get("content"))
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    out_messages = []
    for role, blocks in turns:
        if role == "user":  # Anthropic wants the tool results first in their message
            blocks = ([b for b in blocks if b.get("type") == "tool_result"]
                      + [b for b in blocks if b.get("type") != "tool_result"])
        out_messages.append({"role": role, "content": blocks})
    out: dict[str, Any] = {"messages": out_messages}
    if system:
        out = {"system": "\n\n".join(system), **out}
    return out


def _close(core: _core.ConversationMemory, temporary_path: Optional[str],
           backends: Optional[Backends] = None, quiet: bool = False) -> None:
    try:
        core.close()
    except Exception as e:
        if not quiet:
            raise
        # Left open until garbage collection or interpreter exit: no caller to raise to.
        _log.warning("vmllm: closing the conversation store failed: %s", e)
    finally:
        if backends is not None:
            backends.close()
        if temporary_path is not None:
            shutil.rmtree(temporary_path, ignore_errors=True)


class ConversationMemory:
    """Conversation memory with working blocks, a managed FIFO queue, recall and archival.

    Args:
        path: Store directory (``store.db`` inside). ``None`` makes a temporary one, removed
            on :meth:`close`.
        window_tokens: The model's context window; :meth:`messages` never costs more.
        system: System instructions; ``None`` keeps the stored ones of a reopened agent.
        blocks: Working-memory blocks: :class:`MemoryBlock` objects, dicts of its fields, or a
            ``{label: value}`` dict. A block already in the store keeps its stored value.
        warn_fraction: Where the memory-pressure warning enters the queue.
        flush_fraction: Where the oldest messages are evicted ...
        target_fraction: ... down to this share of the window.
        compressor: Summariser for evicted messages, as for :class:`~vmllm.VirtualMemory`:
            ``"extractive"`` or ``None`` (built in, offline), ``"openai:MODEL"`` (an
            OpenAI-compatible chat model), a callable ``text -> summary``, a LangChain chat
            model or an object with ``compress(text)``. Any but the built-in one runs in the
            calling thread, never on a core thread; if it fails, the built-in one is used and
            ``stats()["compressor_failures"]`` counts it.
        agent_id: Which agent of the store this is; agents share blocks by ``block_id``.
        summary_fraction: Largest share of the window the summary may take.
        page_size: Search results per page (5, as MemGPT).
        tokenizer: What counts tokens, as for :class:`~vmllm.VirtualMemory`:
            ``"cl100k_base"``, ``"o200k_base"``, ``"approx"``, a ``vmllm._core.Tokenizer`` or
            ``None`` (exact ``cl100k_base``; see :mod:`vmllm.tokenizers`). A Python callable
            is refused: the core counts every message and never calls into Python. A message
            costs the tokens of its compact JSON plus 3, which errs high, so the window is not
            exceeded through a low estimate.
        embedder: What makes the vectors of recall and archival search by meaning, as for
            :class:`~vmllm.VirtualMemory`: ``"hashing"`` (built in), ``"openai:MODEL"``, a
            callable ``list[str] -> list[list[float]]`` or a LangChain ``Embeddings``. Vectors
            are computed before a search, never by :meth:`append`, so a remote embedder that is
            down does not stop the conversation. Reopened with another embedder (or another
            ``embedding_dimensions``), the store's vector index is rebuilt from the stored
            text at the next search. When the
            vector half of a hybrid search fails, the search uses keywords alone, logs a
            warning (logger ``"vmllm"``) and counts it in ``stats()["search_fallbacks"]``;
            ``mode="vector"`` raises instead.
        embedding_dimensions: The embedder's vector size; see :class:`~vmllm.VirtualMemory`.
        llm_base_url, llm_api_key, llm_timeout, llm_max_retries: The OpenAI-compatible server
            of ``"openai:MODEL"`` specs; see :class:`~vmllm.VirtualMemory`.

    There is no ``l2=``: conversation memory has no L2 tier yet.

    >>> with ConversationMemory(window_tokens=2000, system="Be brief.",
    ...                         blocks={"human": "Name: Ada"}) as memory:
    ...     _ = memory.append({"role": "user", "content": "Hi, I moved to Lisbon."})
    ...     [m["role"] for m in memory.messages()]
    ['system', 'user']
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str], None] = None,
        window_tokens: int = 8000,
        system: Optional[str] = None,
        blocks: Any = None,
        warn_fraction: float = 0.7,
        flush_fraction: float = 1.0,
        target_fraction: float = 0.5,
        compressor: Union[Summarizer, Any, None] = "extractive",
        *,
        agent_id: str = "default",
        summary_fraction: float = 0.1,
        page_size: int = 5,
        tokenizer: TokenizerSpec = None,
        embedder: Any = "hashing",
        embedding_dimensions: Optional[int] = None,
        llm_base_url: Optional[str] = None,
        llm_api_key: Optional[str] = None,
        llm_timeout: float = 60.0,
        llm_max_retries: int = 4,
    ) -> None:
        if not isinstance(window_tokens, int) or isinstance(window_tokens, bool):
            raise InvalidArgumentError(f"window_tokens must be an int, not {window_tokens!r}")
        if callable(tokenizer) and not isinstance(tokenizer, _core.Tokenizer):
            raise InvalidArgumentError(
                "ConversationMemory cannot count tokens with a Python callable: the core counts "
                "every message, system prompt and summary, and never calls into Python; use "
                "'cl100k_base', 'o200k_base', 'approx' or None")
        config = _config.resolve(
            tokenizer=tokenizer, compressor=compressor, embedder=embedder,
            embedding_dimensions=embedding_dimensions, llm_base_url=llm_base_url,
            llm_api_key=llm_api_key, llm_timeout=llm_timeout, llm_max_retries=llm_max_retries,
            inline_compressor=True)
        self._backends = config.backends
        self._compressor: Optional[Summarizer] = config.backends.compress
        self._lock = threading.RLock()
        self._temporary = path is None
        self._path = tempfile.mkdtemp(prefix="vmllm-memory-") if path is None else os.fspath(path)
        try:
            self._core = _core.ConversationMemory(
                self._path, agent_id, window_tokens, system,
                [b._as_tuple() for b in _blocks_arg(blocks)],
                float(warn_fraction), float(flush_fraction), float(target_fraction),
                float(summary_fraction), int(page_size), self._compressor is not None,
                config.tokenizer, config.backends.native_embedder)
        except BaseException:
            self._backends.close()
            if self._temporary:
                shutil.rmtree(self._path, ignore_errors=True)
            raise
        _backends.log_backend_warnings()  # A memory.db imported on open, say.
        self._closed = False
        self._finalizer = weakref.finalize(
            self, _close, self._core, self._path if self._temporary else None, self._backends,
            True)
        self._settle()

    # --- the queue ---------------------------------------------------------------------------

    def append(self, message: Union[Message, str]) -> dict[str, Any]:
        """Appends one OpenAI-style message; warns and flushes as needed.

        Returns ``{"message_id", "warned", "flushed"}``. Raises ``InvalidArgumentError`` for a
        malformed message and ``CapacityError`` for one that can never fit; nothing is stored
        then.

        Tool calls stay paired as providers require, so a call whose result never came (the
        process died in between) cannot block the conversation: the calls of the last assistant
        message are open until a message that is not a result for one of them arrives. That
        message first closes each open call with a synthetic tool result,
        ``"[vmllm: no result was recorded for this call]"`` (stored like any message, counted
        in ``stats()["closed_tool_calls"]``). A tool result that answers no open call (late,
        repeated, or for a call not in the context) is stored as a user-role note that names
        the call and carries the result (``stats()["late_tool_results"]``). A store written
        before this rule is repaired when it is opened.
        """
        with self._lock:
            raw = self._core.append(_json_arg(message, "message"))
            settled = self._settle()
            return {"message_id": int(raw["message_id"]), "warned": bool(raw["warned"]),
                    "flushed": bool(raw["flushed"] or (raw["flush_pending"] and settled))}

    def extend(self, messages: Iterable[Union[Message, str]]) -> None:
        """Appends messages in order."""
        for m in messages:
            self.append(m)

    @overload
    def messages(self, format: Literal["openai"] = "openai") -> list[dict[str, Any]]: ...

    @overload
    def messages(self, format: Literal["anthropic"]) -> dict[str, Any]: ...

    def messages(self, format: str = "openai") -> Any:  # noqa: A002 - API name
        """What to send to the model: system (with blocks), summary, then the queue.

        ``format="openai"`` (the default): a list of Chat Completions messages.
        ``format="anthropic"``: ``{"system": str, "messages": [...]}`` for the Messages API,
        so ``client.messages.create(model=..., max_tokens=..., **memory.messages(
        format="anthropic"))`` works. The leading system messages become ``system`` (left out
        when there is none); a later system message (a memory-pressure warning) becomes user
        text, as Anthropic has no system turns. Every ``content`` is a list of blocks:
        assistant ``tool_calls`` become ``tool_use`` blocks (``input`` parsed from the
        arguments JSON; arguments that are not a JSON object become ``{"arguments": text}``),
        tool results become ``tool_result`` blocks in a user message, placed before any other
        block of that message, and consecutive messages of one role are merged, so roles
        alternate. Empty texts are dropped (Anthropic refuses empty text blocks); other blocks
        it does not know (``image_url`` becomes ``image``) are passed through.

        If another agent grew a shared block past this window, a flush runs first. Raises
        ``InvalidArgumentError`` for another ``format``.
        """
        if format not in ("openai", "anthropic"):
            raise InvalidArgumentError(
                f"format must be 'openai' or 'anthropic', not {format!r}")
        with self._lock:
            if self._compressor is not None and self._core.maintain():
                self._settle()
            messages = [json.loads(m) for m in self._core.messages()]
        return messages if format == "openai" else _to_anthropic(messages)

    def context_tokens(self) -> int:
        """Token cost of :meth:`messages` (never more than ``window_tokens``)."""
        return int(self._core.context_tokens())

    # --- blocks ------------------------------------------------------------------------------

    @property
    def blocks(self) -> dict[str, MemoryBlock]:
        """The agent's blocks by label, as stored now (another agent may have edited them)."""
        return {b["label"]: MemoryBlock(**b) for b in self._core.blocks()}

    def set_block(self, label: str, value: str) -> None:
        """Sets a block's value from the application (the limit applies, read_only does not)."""
        with self._lock:
            self._core.set_block_value(label, value)
            self._settle()

    def attach_block(self, block: Union[MemoryBlock, Mapping[str, Any]]) -> None:
        """Attaches a block, creating it if its ``block_id`` is new (sharing it otherwise)."""
        with self._lock:
            self._core.attach_block(_to_block(block)._as_tuple())
            self._settle()

    # --- tools -------------------------------------------------------------------------------

    def tools(self, format: str = "openai") -> list[dict[str, Any]]:  # noqa: A002 - API name
        """The memory tools' schemas, for ``tools=`` of OpenAI or Anthropic requests."""
        return list(json.loads(self._core.tool_schemas(format)))

    def execute(self, tool_call: Union[Message, str, Any], append: bool = True) -> ToolResult:
        """Runs one memory tool call (OpenAI ``tool_calls`` item or Anthropic ``tool_use``).

        A failing call (bad arguments, unknown label, read-only or full block) is a result with
        ``ok=False`` that tells the model what went wrong; it never raises for that. With
        ``append``, the tool message enters the queue (its assistant message must be there).
        """
        call_json = _json_arg(tool_call, "tool_call")
        with self._lock:
            self._prepare_search(_core.tool_call_query(call_json))
            try:
                out = self._core.execute(call_json, bool(append))
            finally:
                self._after_search()
            self._settle()
        return ToolResult(
            tool_call_id=out["tool_call_id"], name=out["name"], ok=out["ok"],
            heartbeat=out["heartbeat"], content=json.loads(out["content"]),
            message=json.loads(out["message"]) if out["message"] else None,
            appended=out["appended"])

    # --- storage -----------------------------------------------------------------------------

    def search_recall(self, query: str = "", *, start: Optional[DateLike] = None,
                      end: Optional[DateLike] = None, mode: str = "hybrid",
                      page: int = 0) -> dict[str, Any]:
        """Searches every message ever appended, in or out of the window.

        ``query`` by words and meaning (``mode``: hybrid, keyword or vector); an empty query
        lists the date range oldest first. A date alone covers its whole day (UTC). Returns
        ``{"hits": [{"id", "timestamp", "role", "content", "message"}], "context", "page",
        "total", "total_pages"}``, ``page_size`` hits a page; ``context`` holds the messages
        just before and after the hits of a query (not hits themselves), oldest first. A hit
        that is context of a better one moves behind the others, so a page covers more.
        """
        if not isinstance(page, int) or isinstance(page, bool) or page < 0:
            raise InvalidArgumentError(f"page must be a non-negative int, not {page!r}")
        if not isinstance(query, str):
            raise InvalidArgumentError(f"query must be a str, not {type(query).__name__}")
        self._prepare_search(query if mode != "keyword" else "")
        try:
            result = dict(self._core.search_recall(query, _epoch(start, False),
                                                   _epoch(end, True), mode, page))
        finally:
            self._after_search()
        for hit in result["hits"] + result["context"]:
            hit["message"] = json.loads(hit["message"]) if hit["message"] else None
        return result

    def archival_insert(self, text: str) -> int:
        """Stores a passage in archival memory; returns its id."""
        return int(self._core.archival_insert(text))

    def archival_search(self, query: str, page: int = 0) -> dict[str, Any]:
        """Hybrid (words and meaning) search of archival memory, ``page_size`` a page."""
        if not isinstance(page, int) or isinstance(page, bool) or page < 0:
            raise InvalidArgumentError(f"page must be a non-negative int, not {page!r}")
        if not isinstance(query, str):
            raise InvalidArgumentError(f"query must be a str, not {type(query).__name__}")
        self._prepare_search(query)
        try:
            return dict(self._core.archival_search(query, page))
        finally:
            self._after_search()

    def stats(self) -> dict[str, Any]:
        """Window occupancy, queue, recall and archival sizes, warnings, flushes, tool calls.

        ``closed_tool_calls`` and ``late_tool_results`` count what :meth:`append` did to keep
        tool calls paired; ``search_fallbacks`` the hybrid searches of this object answered by
        keywords alone because the embedder failed.
        """
        return dict(self._core.stats())

    @property
    def path(self) -> str:
        return self._path

    # --- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Finishes any pending flush and closes the store (idempotent)."""
        if not self._closed:
            self._closed = True
            detached = self._finalizer.detach()
            if detached is not None:
                _, _, args, _ = detached
                _close(*args[:3], quiet=False)

    def __enter__(self) -> ConversationMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<ConversationMemory {self._path!r} (closed)>"
        s = self.stats()
        return (f"<ConversationMemory {self._path!r}: {s['context_tokens']}/{s['window_tokens']}"
                f" tokens, {s['queue_messages']} queued, {s['recall_messages']} in recall>")

    def _prepare_search(self, query: str) -> None:
        """A Python embedder computes, before the core searches, the vectors it will need."""
        if self._backends.provided:
            self._backends.feed(self._core)
            if query:
                self._backends.provide_query(query)

    def _after_search(self) -> None:
        if self._backends.native_embedder is not None:
            # A failing embedder posts a warning (search fell back to keywords): log it.
            _backends.log_backend_warnings()

    def _settle(self) -> bool:
        """Runs the Python compressor for a flush the core left pending; True if one ran."""
        if self._compressor is None:
            return False
        ran = False
        while self._core.flush_pending():
            text = self._core.summary_input()
            summary: Optional[str]
            try:
                summary = self._compressor(text)
                if not isinstance(summary, str):
                    raise TypeError(f"the compressor returned {type(summary).__name__}, not str")
            except Exception as exc:  # noqa: BLE001 - any failure falls back, never loses data
                _log.warning("vmllm: compressor failed (%s); using the extractive summary", exc)
                summary = None
            self._core.complete_flush(summary)
            ran = True
        return ran
