"""Chat-model adapters for :class:`vmllm.VirtualMemoryAgent`.

The agent talks to every model through one tiny protocol, :class:`ChatBackend`: ``chat(messages,
tools=None) -> ChatReply`` over OpenAI-style message dicts. :func:`as_chat_backend` turns what a
user already has into one:

* any LangChain chat model (``BaseChatModel``; tools are bound with ``bind_tools``),
* an object that has ``chat(messages, tools=None)`` (vmllm's own HTTP client, or yours); its
  reply may be a :class:`ChatReply`, a string, an OpenAI message or whole response dict,
* an object with ``invoke(messages)`` or a plain callable ``f(messages)`` returning a string, a
  dict with ``content`` / ``tool_calls``, or anything with ``.content`` and ``.tool_calls``,
* ``"openai:<model>"``: an OpenAI-compatible endpoint (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``)
  through :class:`OpenAIChatBackend`, on vmllm's native libcurl client.

Adapters hold no state between calls, so one may serve several agents and threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, runtime_checkable

from . import _core, _json_limits
from .errors import BackendUnavailableError, InvalidArgumentError

Message = dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for."""

    id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatReply:
    """What a chat model answered: text, and the tool calls it made (maybe none)."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()


@runtime_checkable
class ChatBackend(Protocol):
    """The adapter protocol: OpenAI-style messages in, a :class:`ChatReply` out.

    ``tools`` is a list of OpenAI function specs (``{"type": "function", "function": {...}}``)
    or ``None``; a backend that cannot call tools may ignore it.
    """

    def chat(self, messages: list[Message], tools: Optional[list[dict[str, Any]]] = None
             ) -> ChatReply: ...


def coerce_reply(raw: Any) -> ChatReply:
    """Turn a model's answer (str, dict, ChatReply, LangChain AIMessage-like) into a ChatReply."""
    if isinstance(raw, ChatReply):
        return raw
    if isinstance(raw, str):
        return ChatReply(raw)
    if isinstance(raw, dict) and raw.get("choices"):  # a whole chat-completion response
        raw = raw["choices"][0].get("message", {})
    if isinstance(raw, dict):
        content, calls = raw.get("content"), raw.get("tool_calls") or ()
    elif hasattr(raw, "content"):
        content, calls = raw.content, getattr(raw, "tool_calls", None) or ()
    else:
        raise InvalidArgumentError(f"cannot read a chat reply from {type(raw).__name__}")
    return ChatReply(_text_of(content), tuple(_coerce_call(c, i) for i, c in enumerate(calls)))


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return str(content)


def _coerce_call(call: Any, index: int) -> ToolCall:
    if isinstance(call, ToolCall):
        return call
    if not isinstance(call, dict):
        call = {"id": getattr(call, "id", None), "name": getattr(call, "name", ""),
                "args": getattr(call, "args", {})}
    if "function" in call:  # OpenAI wire format
        fn = call["function"]
        text = fn.get("arguments") or "{}"
        try:
            # A model's arguments are untrusted: over the limits they stay raw, like bad JSON.
            if isinstance(text, (str, bytes)):
                _json_limits.check(text, "tool call arguments", "message_bytes")
            args = json.loads(text)
        except (json.JSONDecodeError, InvalidArgumentError):
            args = {"_raw": fn.get("arguments")}
        return ToolCall(str(call.get("id") or f"call_{index}"), str(fn.get("name", "")),
                        args if isinstance(args, dict) else {"_raw": args})
    args = call.get("args") or {}
    return ToolCall(str(call.get("id") or f"call_{index}"), str(call.get("name", "")),
                    dict(args) if isinstance(args, dict) else {"_raw": args})


class ChatMethodBackend:
    """Wraps any object with ``chat(messages[, tools=...])`` whose reply is in any shape
    :func:`coerce_reply` reads (a ChatReply, str, OpenAI message or response dict, AIMessage)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def chat(self, messages: list[Message], tools: Optional[list[dict[str, Any]]] = None
             ) -> ChatReply:
        raw = self.client.chat(messages, tools=tools) if tools else self.client.chat(messages)
        return coerce_reply(raw)


class CallableBackend:
    """Wraps ``f(messages)`` (or an object's ``invoke(messages)``); tools are not offered."""

    def __init__(self, fn: Callable[[list[Message]], Any]) -> None:
        self._fn = fn

    def chat(self, messages: list[Message], tools: Optional[list[dict[str, Any]]] = None
             ) -> ChatReply:
        return coerce_reply(self._fn(messages))


class LangChainBackend:
    """Any LangChain chat model. Messages are converted with LangChain's own converter."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def chat(self, messages: list[Message], tools: Optional[list[dict[str, Any]]] = None
             ) -> ChatReply:
        from langchain_core.messages import convert_to_messages

        model = self._model.bind_tools(tools) if tools else self._model
        return coerce_reply(model.invoke(convert_to_messages(messages)))


class OpenAIChatBackend:
    """An OpenAI-compatible ``/chat/completions`` endpoint through vmllm's native client.

    The request goes through :class:`vmllm._core.LlmClient` (libcurl): connect and total
    timeouts, retries with backoff and jitter on 429, 5xx and connection errors, ``Retry-After``
    honoured, the API key never in an error. Failures after the last retry raise
    :class:`~vmllm.BackendUnavailableError`.
    """

    def __init__(self, model: str, base_url: Optional[str] = None,
                 api_key: Optional[str] = None, *, timeout: float = 60.0,
                 max_retries: int = 2, backoff_seconds: float = 0.5) -> None:
        self.model = model
        self._client = _core.LlmClient(base_url=base_url, api_key=api_key, timeout=timeout,
                                       max_retries=max_retries, backoff=backoff_seconds)
        self.base_url = self._client.base_url

    def chat(self, messages: list[Message], tools: Optional[list[dict[str, Any]]] = None
             ) -> ChatReply:
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if tools:
            body["tools"] = tools
        # The core refuses a request or a reply over the JSON limits before parsing either.
        data = json.loads(self._client.complete(_json_limits.dumps(body, "chat request")))
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendUnavailableError(f"malformed chat completion: {data!r:.200}") from exc
        return coerce_reply(message)


def as_chat_backend(llm: Any) -> ChatBackend:
    """Adapt ``llm`` (see the module docstring for what is accepted) to :class:`ChatBackend`."""
    if isinstance(llm, str):
        provider, _, model = llm.partition(":")
        if provider != "openai" or not model:
            raise InvalidArgumentError(f"llm string must be 'openai:<model>', not {llm!r}")
        return OpenAIChatBackend(model)
    if isinstance(llm, (OpenAIChatBackend, ChatMethodBackend, CallableBackend,
                        LangChainBackend)):
        return llm
    if hasattr(llm, "chat") and callable(llm.chat):
        return ChatMethodBackend(llm)
    if hasattr(llm, "bind_tools") and hasattr(llm, "invoke"):
        return LangChainBackend(llm)
    if hasattr(llm, "invoke") and callable(llm.invoke):
        return CallableBackend(llm.invoke)
    if callable(llm):
        return CallableBackend(llm)
    raise InvalidArgumentError(
        f"llm must be a LangChain chat model, a ChatBackend, a callable or 'openai:<model>', "
        f"not {type(llm).__name__}")
