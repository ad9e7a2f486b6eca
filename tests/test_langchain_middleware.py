"""VirtualMemoryMiddleware with create_agent, end to end against a scripted chat model."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

import vmllm  # noqa: E402
from vmllm.integrations.langchain import VirtualMemoryMiddleware  # noqa: E402
from vmllm.integrations.scripted import ScriptedChatModel  # noqa: E402

REPORT = "".join(f"Line {i}: shard {i} holds {i * 37} orders, replica lag {i % 5} ms.\n"
                 for i in range(60))


@tool
def read_report(name: str) -> str:
    """Read a long operations report."""
    return REPORT


def call(tool_name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": tool_name, "args": args, "id": call_id}])


def tool_message(messages: list[BaseMessage], call_id: str) -> ToolMessage:
    return next(m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id == call_id)


def assert_pairs_intact(messages: list[BaseMessage]) -> None:
    """Every tool call is answered by the very next tool messages, and nothing is orphaned."""
    expected: list[str] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            assert expected and message.tool_call_id == expected.pop(0)
        else:
            assert not expected, f"tool calls {expected} lost their results"
            if isinstance(message, AIMessage):
                expected = [c["id"] for c in message.tool_calls]
    assert not expected


def recall_answer(messages: list[BaseMessage]) -> str:
    recalled = tool_message(messages, "r1").content
    assert "shard 42 holds 1554 orders" in recalled
    return "Shard 42 holds 1554 orders [tool/t1]."


def script(thread: str = "t") -> list[Any]:
    """Page ids are scoped to the thread: ``tool/<thread_id>/<tool_call_id>``."""
    return [
        call("read_report", "t1", name="ops"),          # turn 1: read the report
        "The report is loaded.",
        "Noted.",                                        # turn 2: the report is now stale
        call("recall_page", "r1", page_id=f"tool/{thread}/t1"),  # turn 3: fault it back
        recall_answer,
        "Still here.",                                   # turn 4
        "Done.",                                         # turn 5
    ]


def run_turns(vm: vmllm.VirtualMemory, model: ScriptedChatModel, saver: InMemorySaver,
              questions: list[str], fresh_middleware_each_turn: bool = True
              ) -> tuple[list[VirtualMemoryMiddleware], Any]:
    """One agent per turn over the same checkpointer: a process that resumes each turn."""
    config = {"configurable": {"thread_id": "t"}}
    middlewares: list[VirtualMemoryMiddleware] = []
    agent = None
    for question in questions:
        if agent is None or fresh_middleware_each_turn:
            middlewares.append(VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100))
            agent = create_agent(model, tools=[read_report], middleware=[middlewares[-1]],
                                 checkpointer=saver)
        agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
    assert agent is not None
    return middlewares, agent.get_state(config)


def test_stale_result_is_paged_out_faulted_back_and_the_answer_cites_it(vm):
    model = ScriptedChatModel(script=script())
    middlewares, state = run_turns(vm, model, InMemorySaver(),
                                   ["read it", "thanks", "what about shard 42?"])
    first, second, third = model.requests[1], model.requests[2], model.requests[3]
    assert tool_message(first, "t1").content == REPORT  # fresh: sent in full once
    stub = tool_message(second, "t1").content
    assert stub.startswith("[vmllm:") and 'recall_page(page_id="tool/t/t1")' in stub
    assert len(stub) < len(REPORT) // 10
    assert tool_message(third, "t1").content == stub
    assert state.values["messages"][-1].content == "Shard 42 holds 1554 orders [tool/t1]."
    assert vm.page_table["tool/t/t1::chunk_0000"].fault_count >= 1
    assert state.values["vmllm_paged"]["t1"]["page_id"] == "tool/t/t1"
    assert state.values["vmllm_faults"] == {"r1": "tool/t/t1"}
    # Full history stays in state; only the request was paged.
    assert tool_message(state.values["messages"], "t1").content == REPORT
    for request in model.requests:
        assert_pairs_intact(request)
    assert [e["type"] for m in middlewares for e in m.events] == ["page_out", "fault"]


def test_stub_stays_byte_identical_across_three_resumed_turns_with_a_checkpointer(vm):
    model = ScriptedChatModel(script=script())
    saver = InMemorySaver()
    middlewares, state = run_turns(
        vm, model, saver, ["read it", "thanks", "what about shard 42?", "and now?", "bye"])
    stubs = [tool_message(r, "t1").content for r in model.requests[2:]]
    assert len(stubs) == 5 and len(set(stubs)) == 1 and stubs[0] != REPORT
    # Decided once, in turn 2; the three resumed turns after it only applied the decision.
    decided = [i for i, m in enumerate(middlewares) if any(
        e["type"] == "page_out" for e in m.events)]
    assert decided == [1]
    assert all(not m.events or m.events[0]["type"] == "fault" for m in middlewares[2:])
    # The recall result is pinned by its fault: never paged, even once stale.
    assert tool_message(model.requests[-1], "r1").content.startswith("Line 0:")
    # Turn 2's request holds more messages than turn 1's last, yet is far smaller.
    assert middlewares[1].request_tokens[0] * 5 < middlewares[0].request_tokens[-1]


def test_without_a_checkpointer_history_is_new_and_nothing_is_paged(vm):
    model = ScriptedChatModel(script=[call("read_report", "t1", name="ops"), "ok", "fine"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware])
    agent.invoke({"messages": [{"role": "user", "content": "read"}]})
    agent.invoke({"messages": [{"role": "user", "content": "again"}]})
    assert middleware.events == [] and len(model.requests[-1]) == 1


def test_small_results_stay_in_the_request(vm):
    @tool
    def tiny() -> str:
        """A tiny result."""
        return "42"

    model = ScriptedChatModel(script=[call("tiny", "s1"), "a", "b", "c"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[tiny], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "x"}}
    for q in ("one", "two", "three"):
        agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    assert tool_message(model.requests[-1], "s1").content == "42"
    assert middleware.events == []


async def test_async_hooks_page_out_the_same_way(vm):
    model = ScriptedChatModel(script=[call("read_report", "t1", name="ops"), "a", "b", "c"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "async"}}
    for q in ("one", "two", "three"):
        await agent.ainvoke({"messages": [{"role": "user", "content": q}]}, config)
    stubs = [tool_message(r, "t1").content for r in model.requests[2:]]
    assert stubs[0].startswith("[vmllm:") and stubs[0] == stubs[1]
    assert [e["type"] for e in middleware.events] == ["page_out"]
    assert [t.name for t in middleware.tools] == ["recall_page"]


def test_decisions_accumulate_so_each_result_is_paged_exactly_once(vm):
    model = ScriptedChatModel(script=[
        call("read_report", "a", name="one"), "first",
        call("read_report", "b", name="two"), "second",
        "third", "fourth"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "acc"}}
    for q in ("one", "two", "three", "four"):
        agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    assert [(e["type"], e["tool_call_id"]) for e in middleware.events] == [
        ("page_out", "a"), ("page_out", "b")]
    assert sorted(agent.get_state(config).values["vmllm_paged"]) == ["a", "b"]
    last = model.requests[-1]
    assert tool_message(last, "a").content.startswith("[vmllm:")
    assert tool_message(last, "b").content.startswith("[vmllm:")


def test_a_recall_after_the_store_was_lost_restores_the_page_from_checkpointed_history(store):
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "lost"}}
    model = ScriptedChatModel(script=script("lost"))
    with vmllm.VirtualMemory(store + "-first") as first:
        agent = create_agent(model, tools=[read_report], checkpointer=saver,
                             middleware=[VirtualMemoryMiddleware(first, stale_after=1,
                                                                 min_tokens=100)])
        for q in ("read it", "thanks"):
            agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    with vmllm.VirtualMemory(store + "-second") as second:  # a new process, a new store
        middleware = VirtualMemoryMiddleware(second, stale_after=1, min_tokens=100)
        agent = create_agent(model, tools=[read_report], middleware=[middleware],
                             checkpointer=saver)
        state = agent.invoke({"messages": [{"role": "user", "content": "shard 42?"}]}, config)
        assert state["messages"][-1].content == "Shard 42 holds 1554 orders [tool/t1]."
        assert [e["type"] for e in middleware.events] == ["restore", "fault"]
        assert second.read_page("tool/lost/t1::chunk_0000") == REPORT[:len(
            second.read_page("tool/lost/t1::chunk_0000"))]


def test_benchmark_smoke_run_reports_ratios_against_the_baseline(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "middleware_paging.py"
    spec = importlib.util.spec_from_file_location("middleware_paging", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--turns", "4", "--repeat", "1"])
    assert result["request_tokens_vmllm"] < result["request_tokens_baseline"]
    assert 0 < result["request_tokens_ratio"] < 1 and result["time_ratio"] > 0
    assert "ratio" in capsys.readouterr().out


def test_tool_call_ids_that_sanitise_alike_get_separate_pages(vm):
    middleware = VirtualMemoryMiddleware(vm)
    ids = {middleware._doc_id(i, "t") for i in ("call:1", "call/1", "call_1")}
    assert len(ids) == 3 and "tool/t/call_1" in ids


# --- issue 12: content-block results and threads sharing one middleware ---------------------

def named_report(name: str) -> str:
    return "".join(f"{name} line {i}: region {name}-{i} served {i * 41} requests.\n"
                   for i in range(60))


@tool
def read_named(name: str) -> str:
    """Read the long report of one region."""
    return named_report(name)


IMAGE = {"type": "image", "url": "https://example.invalid/chart.png"}
HALVES = (REPORT[:len(REPORT) // 2], REPORT[len(REPORT) // 2:])


@tool
def read_blocks(name: str) -> list[dict[str, Any]]:
    """Read a report as content blocks, the way MCP tools return results."""
    return [{"type": "text", "text": HALVES[0]}, IMAGE, {"type": "text", "text": HALVES[1]}]


def recall_from_stub(messages: list[BaseMessage], call_id: str, recall_id: str) -> AIMessage:
    """What a model does with a stub: call recall_page with the page id it names."""
    result = tool_message(messages, call_id).content
    text = result if isinstance(result, str) else " ".join(
        b["text"] for b in result if isinstance(b, dict) and b.get("type") == "text")
    match = re.search(r'page_id="([^"]+)"', text)
    assert match, f"no stub in {text[:80]!r}"
    return call("recall_page", recall_id, page_id=match.group(1))


def test_a_content_block_result_is_paged_with_stable_stubs_and_recalled_as_its_text(vm):
    model = ScriptedChatModel(script=[
        call("read_blocks", "b1", name="ops"), "loaded",        # turn 1
        "noted",                                               # turn 2: now stale
        lambda m: recall_from_stub(m, "b1", "r1"),              # turn 3: fault it back
        lambda m: f"recalled {len(tool_message(m, 'r1').content)} chars",
        "still here"])                                         # turn 4
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_blocks], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mcp"}}
    for question in ("read", "thanks", "what did it say?", "and now?"):
        agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
    assert [e["type"] for e in middleware.events] == ["page_out", "fault"]
    assert tool_message(model.requests[1], "b1").content == [
        {"type": "text", "text": HALVES[0]}, IMAGE, {"type": "text", "text": HALVES[1]}]
    stubbed = [tool_message(r, "b1").content for r in model.requests[2:]]
    # One stub block where the text was; the image block stays in place; every turn alike.
    assert stubbed[0][1] == IMAGE and len(stubbed[0]) == 2
    assert stubbed[0][0]["text"].startswith("[vmllm:") and 'page_id="tool/mcp/b1"' in (
        stubbed[0][0]["text"])
    assert len(stubbed) == 4 and all(s == stubbed[0] for s in stubbed)
    # The recall returns the text blocks' text, joined by a newline.
    recalled = tool_message(model.requests[-1], "r1").content
    assert recalled == HALVES[0] + "\n" + HALVES[1]
    assert recalled.count("Line 42: shard 42 holds 1554 orders") == 1
    # History in state is untouched.
    state = agent.get_state(config).values
    assert tool_message(state["messages"], "b1").content[1] == IMAGE


def test_two_threads_sharing_one_middleware_never_recall_each_others_results(vm):
    def policy(messages: list[BaseMessage]) -> Any:
        last = messages[-1]
        if last.type == "tool":
            return f"got: {str(last.content).splitlines()[0]}"
        text = str(last.content)
        if text.startswith("read "):
            return call("read_named", "t1", name=text[5:])  # the same call id in both threads
        if text == "recall":
            return recall_from_stub(messages, "t1", "r1")
        if text.startswith("steal "):
            return call("recall_page", "r2", page_id=text[6:])
        return "ok"

    model = ScriptedChatModel(script=[policy], repeat_last=True)
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_named], middleware=[middleware],
                         checkpointer=InMemorySaver())
    configs = {t: {"configurable": {"thread_id": t}} for t in ("alpha", "beta")}

    def say(thread: str, text: str) -> Any:
        return agent.invoke({"messages": [{"role": "user", "content": text}]}, configs[thread])

    for step in (("alpha", "read north"), ("beta", "read south"), ("alpha", "thanks"),
                 ("beta", "thanks")):
        say(*step)
    alpha = say("alpha", "recall")["messages"]
    beta = say("beta", "recall")["messages"]
    assert tool_message(alpha, "r1").content == named_report("north")
    assert tool_message(beta, "r1").content == named_report("south")
    assert alpha[-1].content == "got: north line 0: region north-0 served 0 requests."
    pages = sorted(e["page_id"] for e in middleware.events if e["type"] == "page_out")
    assert pages == ["tool/alpha/t1", "tool/beta/t1"]
    # Naming the other thread's page explicitly is refused as a tool error.
    stolen = tool_message(say("alpha", "steal tool/beta/t1")["messages"], "r2")
    assert stolen.status == "error" and "south" not in str(stolen.content)
    assert middleware.events[-1] == {"type": "refused", "page_id": "tool/beta/t1"}


def test_without_a_thread_id_pages_are_scoped_by_the_first_message(vm):
    def policy(messages: list[BaseMessage]) -> Any:
        last = messages[-1]
        if last.type == "human":
            return call("read_named", "t1", name=str(last.content))
        if last.tool_call_id == "t1":
            return call("read_named", "t2", name="filler")  # makes t1 stale in this run
        if last.tool_call_id == "t2":
            return recall_from_stub(messages, "t1", "r1")
        return f"got: {str(last.content).splitlines()[0]}"

    model = ScriptedChatModel(script=[policy], repeat_last=True)
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_named], middleware=[middleware])  # no thread id
    answers = [agent.invoke({"messages": [{"role": "user", "content": name}]})["messages"][-1]
               for name in ("east", "west")]
    assert [a.content.split(":")[1].split()[0] for a in answers] == ["east", "west"]
    first, second = [e["page_id"] for e in middleware.events
                     if e["type"] == "page_out" and e["tool_call_id"] == "t1"]
    assert first != second and first.startswith("tool/~") and first.endswith("/t1")
    # Each conversation's page still holds its own result after the other one ran.
    assert vm.read_page(f"{first}::chunk_0000") == named_report("east")[
        :len(vm.read_page(f"{first}::chunk_0000"))]
    assert "west line 0" in vm.read_page(f"{second}::chunk_0000")
