"""VirtualMemoryMiddleware with create_agent, end to end against a scripted chat model.

The middleware delegates paging to the native stream layer: pages are ``p-<16 hex>`` (a hash of
the result's text), stubs are the stream layer's, the model recalls with
``vmllm_recall(page_ids=[...])``, and a recalled result is restored in place in the next request
(the recall's own result then carries the stream layer's confirmation).
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

import vmllm  # noqa: E402
from vmllm import _core  # noqa: E402
from vmllm.errors import PageNotFoundError  # noqa: E402
from vmllm.integrations.langchain import VirtualMemoryMiddleware  # noqa: E402
from vmllm.integrations.langchain_middleware import content_text  # noqa: E402
from vmllm.integrations.scripted import ScriptedChatModel  # noqa: E402

REPORT = "".join(f"Line {i}: shard {i} holds {i * 37} orders, replica lag {i % 5} ms.\n"
                 for i in range(60))
REPORT_PAGE = _core.stream_page_id(REPORT)
STUB = re.compile(r"\[vmllm: paged out (p-[0-9a-f]{16}): ")
RESTORED = "[vmllm: restored in full where they were:"


@tool
def read_report(name: str) -> str:
    """Read a long operations report."""
    return REPORT


def named_report(name: str) -> str:
    return "".join(f"{name} line {i}: region {name}-{i} served {i * 41} requests.\n"
                   for i in range(60))


@tool
def read_named(name: str) -> str:
    """Read the long report of one region."""
    return named_report(name)


def call(tool_name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": tool_name, "args": args, "id": call_id}])


def tool_message(messages: list[BaseMessage], call_id: str) -> ToolMessage:
    return next(m for m in messages if isinstance(m, ToolMessage) and m.tool_call_id == call_id)


def stub_page(content: Any) -> str | None:
    """The page id a stub names, or None if ``content`` is no stub."""
    match = STUB.match(content_text(content))
    return match.group(1) if match else None


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


def recall_from_stub(messages: list[BaseMessage], call_id: str, recall_id: str) -> AIMessage:
    """What a model does with a stub: call vmllm_recall with the page id it names."""
    page = stub_page(tool_message(messages, call_id).content)
    assert page, f"no stub in {content_text(tool_message(messages, call_id).content)[:80]!r}"
    return call("vmllm_recall", recall_id, page_ids=[page])


def recall_answer(messages: list[BaseMessage]) -> str:
    """After a recall the report is back in place; the recall's result is a confirmation."""
    assert tool_message(messages, "r1").content == f"{RESTORED} {REPORT_PAGE}]"
    assert "shard 42 holds 1554 orders" in tool_message(messages, "t1").content
    return f"Shard 42 holds 1554 orders [{REPORT_PAGE}]."


def script() -> list[Any]:
    return [
        call("read_report", "t1", name="ops"),          # turn 1: read the report
        "The report is loaded.",
        "Noted.",                                        # turn 2: the report is now stale
        lambda m: recall_from_stub(m, "t1", "r1"),       # turn 3: fault it back
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
            agent = create_agent(model, tools=[read_report, read_named],
                                 middleware=[middlewares[-1]], checkpointer=saver)
        agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
    assert agent is not None
    return middlewares, agent.get_state(config)


def kinds(middleware: VirtualMemoryMiddleware) -> list[str]:
    return [e["type"] for e in middleware.events]


def test_stale_result_is_paged_out_faulted_back_and_the_answer_cites_it(vm):
    model = ScriptedChatModel(script=script())
    middlewares, state = run_turns(vm, model, InMemorySaver(),
                                   ["read it", "thanks", "what about shard 42?"])
    first, second, third, after = model.requests[1:5]
    assert tool_message(first, "t1").content == REPORT  # fresh: sent in full once
    stub = tool_message(second, "t1").content
    assert stub == (f"[vmllm: paged out {REPORT_PAGE}: read_report ops, {len(REPORT):,} bytes. "
                    f"vmllm_recall brings it back.]")
    assert len(stub) < len(REPORT) // 10
    assert tool_message(third, "t1").content == stub
    # The recall restored the report in place; its own result is the stream layer's note.
    assert tool_message(after, "t1").content == REPORT
    assert state.values["messages"][-1].content == f"Shard 42 holds 1554 orders [{REPORT_PAGE}]."
    session = middlewares[-1].session("t")
    stats = session.stats()
    assert (stats["evictions"], stats["recall_faults"]) == (1, 1)
    assert session.is_pinned("read_report", json.dumps({"name": "ops"}))  # a fault pins
    # Full history stays in state; only the request was paged. The recall returned the text.
    assert tool_message(state.values["messages"], "t1").content == REPORT
    assert tool_message(state.values["messages"], "r1").content == REPORT
    assert not state.values.get("vmllm_paged")  # no decisions in agent state any more
    for request in model.requests:
        assert_pairs_intact(request)
    assert [k for m in middlewares for k in kinds(m)] == ["page_out", "fault"]


def test_stub_stays_byte_identical_across_three_resumed_turns_with_a_checkpointer(vm):
    model = ScriptedChatModel(script=[
        AIMessage("", tool_calls=[
            {"name": "read_report", "args": {"name": "ops"}, "id": "t1"},
            {"name": "read_named", "args": {"name": "north"}, "id": "n1"}]),
        *script()[1:]])
    middlewares, _ = run_turns(
        vm, model, InMemorySaver(), ["read it", "thanks", "what about shard 42?", "and now?",
                                     "bye"])
    # n1 is never recalled: one stub, byte-identical in every request of four resumed turns.
    stubs = [tool_message(r, "n1").content for r in model.requests[2:]]
    assert len(stubs) == 5 and len(set(stubs)) == 1 and stub_page(stubs[0])
    # t1 was stubbed alike until the recall, then restored and kept in full (pinned).
    t1 = [tool_message(r, "t1").content for r in model.requests[2:]]
    assert t1[0] == t1[1] and stub_page(t1[0]) == REPORT_PAGE
    assert t1[2:] == [REPORT] * 3
    # The recall's result is never a page: the same confirmation in every later request.
    assert {tool_message(r, "r1").content for r in model.requests[4:]} == {
        f"{RESTORED} {REPORT_PAGE}]"}
    # Decided once, in turn 2, by the stream layer; the resumed turns after it only reused it.
    assert [[(e["type"], e.get("count")) for e in m.events] for m in middlewares] == [
        [], [("page_out", 2)], [("fault", 1)], [], []]
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


async def test_async_hooks_page_out_and_recall_the_same_way(vm):
    model = ScriptedChatModel(script=[
        call("read_report", "t1", name="ops"), "a", "b",
        lambda m: recall_from_stub(m, "t1", "r1"), recall_answer, "c"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "async"}}
    for q in ("one", "two", "three", "four"):
        state = await agent.ainvoke({"messages": [{"role": "user", "content": q}]}, config)
    stubs = [tool_message(r, "t1").content for r in model.requests[2:4]]
    assert stub_page(stubs[0]) == REPORT_PAGE and stubs[0] == stubs[1]
    assert tool_message(state["messages"], "r1").content == REPORT  # the async tool ran
    assert kinds(middleware) == ["page_out", "fault"]
    assert [t.name for t in middleware.tools] == ["vmllm_recall"]


def test_each_result_is_paged_exactly_once(vm):
    model = ScriptedChatModel(script=[
        call("read_named", "a", name="one"), "first",
        call("read_named", "b", name="two"), "second",
        "third", "fourth"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_named], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "acc"}}
    for q in ("one", "two", "three", "four"):
        agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    assert [(e["type"], e["count"]) for e in middleware.events] == [
        ("page_out", 1), ("page_out", 1)]
    assert middleware.session("acc").stats()["evictions"] == 2
    last = model.requests[-1]
    assert stub_page(tool_message(last, "a").content) == _core.stream_page_id(named_report("one"))
    assert stub_page(tool_message(last, "b").content) == _core.stream_page_id(named_report("two"))


def test_a_recall_after_the_store_was_lost_restores_the_page_from_checkpointed_history(store):
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "lost"}}
    model = ScriptedChatModel(script=script())
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
        assert state["messages"][-1].content == f"Shard 42 holds 1554 orders [{REPORT_PAGE}]."
        # The session was rebuilt from the history; the stub came out byte-identical.
        assert kinds(middleware) == ["rebuild", "page_out", "fault"]
        assert tool_message(model.requests[3], "t1").content == tool_message(
            model.requests[2], "t1").content
        assert middleware.session("lost").page(REPORT_PAGE) == REPORT
        assert middleware.space("lost") in second.spaces()


def test_a_recall_whose_model_call_ran_against_a_lost_store_rebuilds_from_history(store):
    """The model asked for the page in one process; the tool runs in another, on a new store."""
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "split"}}
    model = ScriptedChatModel(script=script())
    with vmllm.VirtualMemory(store + "-first") as first:
        agent = create_agent(model, tools=[read_report], checkpointer=saver,
                             interrupt_before=["tools"],
                             middleware=[VirtualMemoryMiddleware(first, stale_after=1,
                                                                 min_tokens=100)])
        for q in ("read it", "thanks", "shard 42?"):
            agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
            while agent.get_state(config).next == ("tools",) and q == "read it":
                agent.invoke(None, config)
        assert agent.get_state(config).next == ("tools",)  # the recall call awaits its tool
    with vmllm.VirtualMemory(store + "-second") as second:
        middleware = VirtualMemoryMiddleware(second, stale_after=1, min_tokens=100)
        agent = create_agent(model, tools=[read_report], middleware=[middleware],
                             checkpointer=saver)
        state = agent.invoke(None, config)
        assert tool_message(state["messages"], "r1").content == REPORT
        assert state["messages"][-1].content == f"Shard 42 holds 1554 orders [{REPORT_PAGE}]."
        # Rebuilt from the history, which already holds the recall: restored, never re-stubbed.
        assert kinds(middleware) == ["rebuild", "fault"]


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


def test_tool_call_ids_and_thread_ids_that_sanitise_alike_get_separate_pages(vm):
    ids = ("call:1", "call/1", "call_1")
    regions = dict(zip(ids, ("a", "b", "c")))
    model = ScriptedChatModel(script=[
        AIMessage("", tool_calls=[{"name": "read_named", "args": {"name": regions[i]}, "id": i}
                                  for i in ids]),
        "loaded", "ok"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_named], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ids"}}
    for q in ("read", "thanks"):
        agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    pages = {i: stub_page(tool_message(model.requests[-1], i).content) for i in ids}
    assert len(set(pages.values())) == 3 and None not in pages.values()
    session = middleware.session("ids")
    assert all(session.page(pages[i]) == named_report(regions[i]) for i in ids)
    # Thread ids that sanitise alike are separate conversations, each with its own space.
    spaces = {middleware.space(middleware.scope({}, SimpleNamespace(
        config={"configurable": {"thread_id": t}}))) for t in ("x:1", "x/1", "x_1")}
    assert len(spaces) == 3


# --- issue 12: content-block results and threads sharing one middleware ---------------------

IMAGE = {"type": "image", "url": "https://example.invalid/chart.png"}
HALVES = (REPORT[:len(REPORT) // 2], REPORT[len(REPORT) // 2:])
BLOCKS = [{"type": "text", "text": HALVES[0]}, IMAGE, {"type": "text", "text": HALVES[1]}]


@tool
def read_blocks(name: str) -> list[dict[str, Any]]:
    """Read a report as content blocks, the way MCP tools return results."""
    return [dict(b) for b in BLOCKS]


def test_a_content_block_result_is_paged_with_stable_stubs_and_recalled_as_its_text(vm):
    def answer(messages: list[BaseMessage]) -> str:
        restored = tool_message(messages, "b1").content
        return f"restored {len(content_text(restored))} chars and {len(restored)} blocks"

    model = ScriptedChatModel(script=[
        call("read_blocks", "b1", name="ops"), "loaded",        # turn 1
        "noted",                                               # turn 2: now stale
        lambda m: recall_from_stub(m, "b1", "r1"),              # turn 3: fault it back
        answer,
        "still here"])                                         # turn 4
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_blocks], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "mcp"}}
    for question in ("read", "thanks", "what did it say?", "and now?"):
        agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
    assert kinds(middleware) == ["page_out", "fault"]
    assert tool_message(model.requests[1], "b1").content == BLOCKS
    stubbed = [tool_message(r, "b1").content for r in model.requests[2:4]]
    # One stub block where the text was; the image block stays in place; every turn alike.
    page = _core.stream_page_id(HALVES[0] + "\n" + HALVES[1])
    assert stubbed[0][1] == IMAGE and len(stubbed[0]) == 2
    assert stub_page(stubbed[0]) == page and stubbed[1] == stubbed[0]
    # The recall restored the blocks in place; the tool returned the text blocks' text.
    assert [tool_message(r, "b1").content for r in model.requests[4:]] == [BLOCKS, BLOCKS]
    state = agent.get_state(config).values
    assert state["messages"][-3].content == f"restored {len(HALVES[0]) + 1 + len(HALVES[1])} " \
                                            "chars and 3 blocks"
    recalled = tool_message(state["messages"], "r1").content
    assert recalled == HALVES[0] + "\n" + HALVES[1]
    assert recalled.count("Line 42: shard 42 holds 1554 orders") == 1
    # History in state is untouched.
    assert tool_message(state["messages"], "b1").content[1] == IMAGE


def test_two_threads_sharing_one_middleware_never_recall_each_others_results(vm):
    def policy(messages: list[BaseMessage]) -> Any:
        last = messages[-1]
        if last.type == "tool":
            source = tool_message(messages, "t1") if last.name == "vmllm_recall" else last
            return f"got: {content_text(source.content).splitlines()[0]}"
        text = str(last.content)
        if text.startswith("read "):
            return call("read_named", "t1", name=text[5:])  # the same call id in both threads
        if text == "recall":
            return recall_from_stub(messages, "t1", "r1")
        if text.startswith("steal "):
            return call("vmllm_recall", "r2", page_ids=[text[6:]])
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
    assert beta[-1].content == "got: south line 0: region south-0 served 0 requests."
    assert sorted(e["scope"] for e in middleware.events if e["type"] == "page_out") == [
        "alpha", "beta"]
    assert middleware.space("alpha") != middleware.space("beta")
    # Naming the other thread's page explicitly is refused as a tool error.
    south = _core.stream_page_id(named_report("south"))
    stolen = tool_message(say("alpha", f"steal {south}")["messages"], "r2")
    assert stolen.status == "error" and "south" not in str(stolen.content)
    assert {"type": "refused", "scope": "alpha", "page_id": south} in middleware.events
    with pytest.raises(PageNotFoundError):
        middleware.session("alpha").page(south)


def test_without_a_thread_id_pages_are_scoped_by_the_first_message(vm):
    def policy(messages: list[BaseMessage]) -> Any:
        last = messages[-1]
        if last.type == "human":
            return call("read_named", "t1", name=str(last.content))
        if last.tool_call_id == "t1":
            return call("read_named", "t2", name="filler")  # makes t1 stale in this run
        if last.tool_call_id == "t2":
            return recall_from_stub(messages, "t1", "r1")
        return f"got: {content_text(tool_message(messages, 't1').content).splitlines()[0]}"

    model = ScriptedChatModel(script=[policy], repeat_last=True)
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_named], middleware=[middleware])  # no thread id
    answers = [agent.invoke({"messages": [{"role": "user", "content": name}]})["messages"][-1]
               for name in ("east", "west")]
    assert [a.content.split(":")[1].split()[0] for a in answers] == ["east", "west"]
    first, second = dict.fromkeys(e["scope"] for e in middleware.events
                                  if e["type"] == "page_out")
    assert first != second and first.startswith("~") and second.startswith("~")
    # Each conversation's session holds its own result, and not the other's.
    east, west = (_core.stream_page_id(named_report(n)) for n in ("east", "west"))
    assert middleware.session(first).page(east) == named_report("east")
    assert middleware.session(second).page(west) == named_report("west")
    with pytest.raises(PageNotFoundError):
        middleware.session(first).page(west)


# --- issue 13: the sessions live in the VirtualMemory's store -------------------------------

def test_the_middlewares_pages_live_in_the_store_in_a_stream_space(vm):
    model = ScriptedChatModel(script=script())
    middlewares, _ = run_turns(vm, model, InMemorySaver(), ["read it", "thanks"])
    space = middlewares[0].space("t")
    assert space.startswith("stream:") and space in vm.spaces()
    stats = vm.stats(space=space)
    assert stats["total_pages"] >= 1
    assert sum(tier["bytes"] for tier in stats["tiers"].values()) >= len(REPORT)
    assert vm.stats()["total_pages"] == 0  # nothing went into the documents' space


def test_a_new_middleware_on_the_same_store_path_continues_with_byte_identical_stubs(store):
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "restart"}}
    model = ScriptedChatModel(script=script())
    with vmllm.VirtualMemory(store) as first:
        before = VirtualMemoryMiddleware(first, stale_after=1, min_tokens=100)
        agent = create_agent(model, tools=[read_report], middleware=[before], checkpointer=saver)
        for q in ("read it", "thanks"):
            agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    assert kinds(before) == ["page_out"]
    with vmllm.VirtualMemory(store) as reopened:  # a restarted process, the same store
        after = VirtualMemoryMiddleware(reopened, stale_after=1, min_tokens=100)
        agent = create_agent(model, tools=[read_report], middleware=[after], checkpointer=saver)
        for q in ("shard 42?", "and now?"):
            state = agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
        assert state["messages"][-3].content == f"Shard 42 holds 1554 orders [{REPORT_PAGE}]."
        # The session resumed from the store: no rebuild, no second page-out, the same stub.
        assert kinds(after) == ["fault"]
        assert tool_message(model.requests[3], "t1").content == tool_message(
            model.requests[2], "t1").content
        stats = after.session("restart").stats()
        assert (stats["evictions"], stats["recall_faults"], stats["requests"]) == (1, 1, 6)


def test_checkpoints_carrying_the_old_decision_fields_still_load(vm):
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "old"}}
    model = ScriptedChatModel(script=[call("read_report", "t1", name="ops"), "a", "b"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware], checkpointer=saver)
    agent.invoke({"messages": [{"role": "user", "content": "one"}]}, config)
    # What an earlier version wrote into the checkpoint.
    agent.update_state(config, {
        "vmllm_paged": {"t1": {"page_id": "tool/old/t1", "stub": "[old stub]", "tokens": 900}},
        "vmllm_faults": {}})
    state = agent.invoke({"messages": [{"role": "user", "content": "two"}]}, config)
    assert state["messages"][-1].content == "b"
    assert stub_page(tool_message(model.requests[-1], "t1").content) == REPORT_PAGE


def test_a_hallucinated_memory_tool_the_middleware_does_not_offer_changes_nothing(vm):
    model = ScriptedChatModel(script=[
        call("read_report", "t1", name="ops"), "a",
        call("vmllm_compact", "c1", from_turn=1, to_turn=2, summary="gone"), "b", "c"])
    middleware = VirtualMemoryMiddleware(vm, stale_after=5, min_tokens=100)
    agent = create_agent(model, tools=[read_report], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "h"}}
    for q in ("one", "two", "three"):
        agent.invoke({"messages": [{"role": "user", "content": q}]}, config)
    last = model.requests[-1]
    assert len(last) == len(agent.get_state(config).values["messages"]) - 1
    assert tool_message(last, "t1").content == REPORT  # neither folded nor stubbed
    assert middleware.session("h").stats()["compactions"] == 0


def test_paging_events_reach_the_runs_callback_handlers(vm):
    from langchain_core.callbacks import BaseCallbackHandler

    class Collector(BaseCallbackHandler):
        def __init__(self) -> None:
            self.events: list[tuple[str, dict]] = []

        def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
            self.events.append((name, data))

    collector = Collector()
    model = ScriptedChatModel(script=script())
    middleware = VirtualMemoryMiddleware(vm, stale_after=1, min_tokens=100)
    agent = create_agent(model, tools=[read_report, read_named], middleware=[middleware],
                         checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "cb"}, "callbacks": [collector]}
    for question in ["read it", "thanks", "what about shard 42?"]:
        agent.invoke({"messages": [{"role": "user", "content": question}]}, config)
    assert [name for name, _ in collector.events] == ["vmllm"] * len(middleware.events)
    assert [data for _, data in collector.events] == middleware.events
    assert {"page_out", "fault"} <= {data["type"] for _, data in collector.events}
