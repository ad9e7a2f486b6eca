"""VirtualMemoryAgent: the seed's question-answering loop over a :class:`VirtualMemory`.

A query starts from seed pages (or from a semantic fault on the question), shows the model the
context window, and lets the model ask for what is missing. Two protocols:

* ``mode="text"``: the model writes ``PAGE_FAULT: <description>`` on a line of its own; the
  agent resolves it with :meth:`VirtualMemory.fault` and asks again.
* ``mode="tools"``: the model calls ``recall_page(page_id)`` and ``search_memory(query)``.

Either way faults are bounded per query (``max_fault_retries``), an identical fault asked twice
is recognised and not resolved again, protocol text inside documents is quoted so that a page
cannot speak for the model, and every step is recorded in :attr:`AgentResult.events`. The final
answer cites the page ids it drew on.

Not thread-safe: one agent runs one query at a time (its ``VirtualMemory`` may be shared).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from . import _core
from .errors import InvalidArgumentError, PageNotFoundError
from .llm import ChatReply, Message, ToolCall, as_chat_backend
from .virtual_memory import VirtualMemory

_FAULT_LINE = re.compile(r"^[ \t>*_`-]*PAGE_FAULT:[ \t]*(.*?)[ \t`*_]*$", re.MULTILINE)
_PROTOCOL_WORD = re.compile(r"PAGE_FAULT:")
_QUOTED_PROTOCOL = "PAGE_FAULT (quoted from a document):"

TEXT_SYSTEM_PROMPT = (
    "You answer questions using the context pages below, each headed \"=== [page_id] ===\".\n"
    "If the information you need is missing, reply with exactly one line\n"
    "PAGE_FAULT: <short description of the missing information>\n"
    "and nothing else; the pages will be loaded for you. Otherwise answer the question and cite "
    "every page you used by its id in square brackets, e.g. [doc::chunk_0003]."
)

TOOLS_SYSTEM_PROMPT = (
    "You answer questions using the context pages below, each headed \"=== [page_id] ===\".\n"
    "If information is missing, call search_memory(query) to page in matching pages, or "
    "recall_page(page_id) for a page you know by id. Cite every page you used by its id in "
    "square brackets, e.g. [doc::chunk_0003]."
)

# The schemas of recall_page and search_memory: the core's tool registry defines them once.
MEMORY_TOOL_SPECS: list[dict[str, Any]] = json.loads(_core.tool_schemas("documents", "openai"))


@dataclass
class AgentResult:
    """The outcome of :meth:`VirtualMemoryAgent.query`.

    ``events`` is a list of dicts with a ``type``: ``seed``, ``semantic_start``, ``fault``
    (a resolved fault and the pages it brought in), ``repeated_fault``, ``fault_limit``,
    ``empty_fault``, ``quoted_protocol_text`` (a page contained ``PAGE_FAULT:``),
    ``citations_added`` and ``answer``.
    """

    answer: str
    citations: list[str]
    pages: list[str]
    faults: int
    rounds: int
    events: list[dict[str, Any]] = field(default_factory=list)

    def _repr_html_(self) -> str:
        from .display import agent_result_html
        return agent_result_html(self)


class VirtualMemoryAgent:
    """Answers questions from a :class:`VirtualMemory`, faulting in the pages it needs.

    Args:
        vm: The virtual memory to read from.
        llm: A LangChain chat model, a :class:`vmllm.llm.ChatBackend`, a callable
            ``f(messages) -> str`` or ``"openai:<model>"`` (see :mod:`vmllm.llm`).
        max_fault_retries: The most faults one query may resolve.
        mode: ``"text"`` (the ``PAGE_FAULT:`` protocol) or ``"tools"`` (function calling).
        fault_pages: Pages each fault brings in (``n`` of :meth:`VirtualMemory.fault`).
    """

    def __init__(self, vm: VirtualMemory, llm: Any, max_fault_retries: int = 5, *,
                 mode: str = "text", fault_pages: int = 3) -> None:
        if mode not in ("text", "tools"):
            raise InvalidArgumentError(f"mode must be 'text' or 'tools', not {mode!r}")
        if not isinstance(max_fault_retries, int) or max_fault_retries < 0:
            raise InvalidArgumentError(
                f"max_fault_retries must be a non-negative int, not {max_fault_retries!r}")
        self.vm = vm
        self.llm = as_chat_backend(llm)
        self.max_fault_retries = max_fault_retries
        self.mode = mode
        self.fault_pages = fault_pages
        self.history: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []  # every query's events, in order

    # --- documents and hand-off -------------------------------------------------------------

    def ingest(self, doc_id: str, text: str | bytes) -> list[str]:
        """Store a document in the agent's virtual memory; returns its page ids."""
        return self.vm.ingest(doc_id, text)

    def hand_off(self, task_state: Any = None) -> str:
        """A snapshot for another agent: the memory's pointers plus this agent's Q&A history."""
        return self.vm.hand_off({"task_state": task_state, "agent_history": self.history})

    def receive_hand_off(self, snapshot: str | bytes) -> Any:
        """Take over another agent's pages and history; returns its ``task_state``."""
        state = self.vm.receive_hand_off(snapshot)
        if isinstance(state, dict) and "agent_history" in state:
            self.history = list(state.get("agent_history") or [])
            return state.get("task_state")
        return state

    # --- the loop ---------------------------------------------------------------------------

    def query(self, question: str, seed_page_ids: Optional[list[str]] = None) -> AgentResult:
        """Answer ``question``; seed the context with ``seed_page_ids`` or a semantic fault."""
        if not isinstance(question, str) or not question.strip():
            raise InvalidArgumentError("question must be a non-empty str")
        run = _Run(self)
        if seed_page_ids:
            for page_id in seed_page_ids:
                self.vm.request_page(page_id)
            run.event("seed", pages=list(seed_page_ids))
        else:
            run.event("semantic_start", pages=self.vm.fault(question, n=self.fault_pages))
        answer = run.text_loop(question) if self.mode == "text" else run.tools_loop(question)
        result = run.finish(answer)
        self.history.append({"question": question, "answer": result.answer,
                             "citations": result.citations})
        self.events.extend(result.events)
        return result


class _Run:
    """The state of one query: events, fault budget, identical-fault memory."""

    def __init__(self, agent: VirtualMemoryAgent) -> None:
        self.agent = agent
        self.vm = agent.vm
        self.events: list[dict[str, Any]] = []
        self.faults = 0
        self.rounds = 0
        self.seen: set[str] = set()
        self.used_pages: list[str] = []

    def event(self, kind: str, **data: Any) -> None:
        self.events.append({"type": kind, **data})

    def context(self) -> str:
        text = self.vm.build_context()
        for page_id in self.vm.active_pages():
            if page_id not in self.used_pages:
                self.used_pages.append(page_id)
        if _PROTOCOL_WORD.search(text):
            self.event("quoted_protocol_text", count=len(_PROTOCOL_WORD.findall(text)))
            text = _PROTOCOL_WORD.sub(_QUOTED_PROTOCOL, text)
        return text

    def ask(self, messages: list[Message], tools: Any = None) -> ChatReply:
        self.rounds += 1
        return self.agent.llm.chat(messages, tools)

    def admit(self, key: str, description: str) -> bool:
        """Whether a fault may be resolved: not empty, not seen before, within the budget."""
        if not description.strip():
            self.event("empty_fault")
            return False
        if key in self.seen:
            self.event("repeated_fault", description=description)
            return False
        if self.faults >= self.agent.max_fault_retries:
            self.event("fault_limit", description=description,
                       limit=self.agent.max_fault_retries)
            return False
        self.seen.add(key)
        self.faults += 1
        return True

    def text_loop(self, question: str) -> str:
        reply = ""
        while True:
            messages: list[Message] = [
                {"role": "system", "content": TEXT_SYSTEM_PROMPT},
                {"role": "user", "content": f"{self.context()}\n\nQuestion: {question}"}]
            reply = self.ask(messages).content
            wanted = [d.strip() for d in _FAULT_LINE.findall(reply)]
            if not wanted:
                return reply
            resolved = False
            for description in wanted:
                if self.admit(" ".join(description.lower().split()), description):
                    pages = self.vm.fault(description, n=self.agent.fault_pages)
                    self.event("fault", description=description, pages=pages)
                    resolved = True
            if not resolved:
                return self.last_word(messages, reply)

    def last_word(self, messages: list[Message], reply: str) -> str:
        """No fault can be resolved any more: ask once for an answer from what is there."""
        messages = messages + [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "No more pages can be loaded. Answer now from the "
                                        "context above and cite the pages you used."}]
        final = self.ask(messages).content
        if _FAULT_LINE.search(final):
            self.event("fault_limit", description="answer still asked for pages")
            final = _FAULT_LINE.sub("", final).strip() or (
                "I could not find the information needed to answer.")
        return final

    def tools_loop(self, question: str) -> str:
        messages: list[Message] = [
            {"role": "system", "content": TOOLS_SYSTEM_PROMPT},
            {"role": "user", "content": f"{self.context()}\n\nQuestion: {question}"}]
        while True:
            reply = self.ask(messages, MEMORY_TOOL_SPECS)
            if not reply.tool_calls:
                return reply.content
            messages.append({"role": "assistant", "content": reply.content,
                             "tool_calls": [_wire_call(c) for c in reply.tool_calls]})
            resolved = False
            for call in reply.tool_calls:  # every call gets its result, in order
                key = f"{call.name}:{json.dumps(call.args, sort_keys=True)}"
                if self.admit(key, key):
                    content, resolved = self.run_tool(call), True
                else:
                    content = ("Not loaded: this was already returned above or the page-fault "
                               "budget is used up. Answer from the context you have.")
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
            if not resolved:
                messages.append({"role": "user", "content": "Answer now, citing page ids."})
                return self.ask(messages).content

    def run_tool(self, call: ToolCall) -> str:
        if call.name == "recall_page":
            page_id = str(call.args.get("page_id", ""))
            try:
                text = self.vm.request_page(page_id, full=True)
            except PageNotFoundError:
                self.event("fault", description=f"recall_page {page_id}", pages=[],
                           error="unknown page id")
                return f"No page {page_id!r} exists."
            self.event("fault", description=f"recall_page {page_id}", pages=[page_id])
            if page_id not in self.used_pages:
                self.used_pages.append(page_id)
            return _PROTOCOL_WORD.sub(_QUOTED_PROTOCOL, f"=== [{page_id}] ===\n{text}")
        if call.name == "search_memory":
            query = str(call.args.get("query", ""))
            pages = self.vm.fault(query, n=self.agent.fault_pages) if query.strip() else []
            self.event("fault", description=query, pages=pages)
            for page_id in pages:
                if page_id not in self.used_pages:
                    self.used_pages.append(page_id)
            parts = [f"=== [{p}] ===\n{self.vm.request_page(p)}" for p in pages]
            return _PROTOCOL_WORD.sub(_QUOTED_PROTOCOL, "\n".join(parts) or "No pages matched.")
        return f"Unknown tool {call.name!r}; use recall_page or search_memory."

    def finish(self, answer: str) -> AgentResult:
        known = set(self.used_pages) | set(self.vm.active_pages())
        cited = [p for p in dict.fromkeys(re.findall(r"\[([^\[\]\s]+)\]", answer)) if p in known]
        if not cited and self.used_pages:
            cited = [p for p in self.used_pages if p in set(self.vm.active_pages())] \
                or list(self.used_pages)
            answer = f"{answer.rstrip()}\n\nSources: " + ", ".join(f"[{p}]" for p in cited)
            self.event("citations_added", pages=cited)
        self.event("answer", citations=cited)
        return AgentResult(answer=answer, citations=cited, pages=list(self.used_pages),
                           faults=self.faults, rounds=self.rounds, events=self.events)


def _wire_call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.args)}}
