"""ScriptedChatModel: a real LangChain chat model that answers from a script, offline.

Each call consumes the next script entry: a string (the reply), an ``AIMessage`` (to make tool
calls), or a callable ``f(messages) -> str | AIMessage`` that may read what it was sent. Every
request is recorded in :attr:`ScriptedChatModel.requests`, so a test or notebook can count the
tokens a model would have been sent. Needs ``langchain-core``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

ScriptEntry = Union[str, AIMessage, Callable[[list[BaseMessage]], Union[str, AIMessage]]]


class ScriptedChatModel(BaseChatModel):
    """Replies with ``script[i]`` on the ``i``-th call; raises ``IndexError`` past its end
    unless ``repeat_last`` is set. Binding tools records them and returns the same model."""

    script: list[Any]
    repeat_last: bool = False
    _position: int = PrivateAttr(default=0)
    _requests: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _tools: list[Any] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "vmllm-scripted"

    @property
    def requests(self) -> list[list[BaseMessage]]:
        """The messages of every call, in order."""
        return self._requests

    @property
    def bound_tools(self) -> list[Any]:
        """The tools most recently bound."""
        return self._tools

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Optional[Any] = None,
                   **kwargs: Any) -> ScriptedChatModel:
        self._tools = list(tools)
        return self

    def _generate(self, messages: list[BaseMessage], stop: Optional[list[str]] = None,
                  run_manager: Optional[CallbackManagerForLLMRun] = None,
                  **kwargs: Any) -> ChatResult:
        self._requests.append(list(messages))
        if self._position >= len(self.script):
            if not (self.repeat_last and self.script):
                raise IndexError(f"the script has only {len(self.script)} replies")
            entry = self.script[-1]
        else:
            entry = self.script[self._position]
        self._position += 1
        reply = entry(list(messages)) if callable(entry) else entry
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))
        return ChatResult(generations=[ChatGeneration(message=message)])
