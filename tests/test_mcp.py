"""`vmllm mcp` (issue 12), driven by the official MCP Python SDK as a client: over stdio, as
Claude Desktop and Claude Code start it, and over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("mcp.server.mcpserver",
                    reason="needs the MCP SDK 2.x: pip install 'vmllm[mcp]'")

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

from vmllm import mcp_server  # noqa: E402

T = TypeVar("T")
TEST_SECONDS = 90  # Bound on each test: a hung server fails the test instead of CI.
REQUEST_SECONDS = 30.0

BREAKER = ("The circuit breaker opens after five consecutive failures and stays open for "
           "thirty seconds before a half-open probe. Canary: 7f3c-secret-payload.")
SOURDOUGH = ("Sourdough bread needs a starter fed with flour and water; proof the dough "
             "overnight in the fridge before baking it in a hot dutch oven.")


def _bounded(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, TEST_SECONDS))


@asynccontextmanager
async def _stdio_session(store: str, env: dict[str, str],
                         log: Path) -> AsyncIterator[tuple[Any, Any]]:
    """An initialised client session with `python -m vmllm mcp --store STORE` over stdio,
    and the server's answer to `initialize`."""
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "vmllm", "mcp", "--store", store], env=env)
    with log.open("w") as errlog:  # The server's stderr, for the no-secrets check.
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=REQUEST_SECONDS) as session:
                yield session, await session.initialize()


def _text(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def _resource_text(session: Any, uri: str) -> str:
    contents = (await session.read_resource(uri)).contents
    assert len(contents) == 1
    return str(contents[0].text)


def _payload(result: Any) -> Any:
    """A tool result as data: its structured content, else its JSON text."""
    assert not result.is_error, _text(result)
    return result.structured_content if result.structured_content is not None \
        else json.loads(_text(result))


def test_stdio_server_lists_its_tools_and_resources(store: str, python_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    async def body() -> None:
        async with _stdio_session(store, python_env, tmp_path / "server.log") as (session, init):
            assert init.server_info.name == "vmllm"
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert {"search", "page", "recall", "ingest", "release", "stats"} <= tools.keys()
            assert "L1" in tools["page"].description
            search_n = tools["search"].input_schema["properties"]["n"]
            assert (search_n["minimum"], search_n["maximum"]) == (1, mcp_server.MAX_SEARCH_RESULTS)
            assert tools["search"].annotations.read_only_hint is True
            resources = {str(r.uri) for r in (await session.list_resources()).resources}
            assert {"vmllm://stats", "vmllm://documents", "vmllm://context"} <= resources
            templates = (await session.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["vmllm://page/{+page_id}"]

    _bounded(body())


def test_stdio_ingest_search_page_recall_stats_round_trip(store: str, python_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    async def body() -> None:
        async with _stdio_session(store, python_env, tmp_path / "server.log") as (session, _):
            breaker = _payload(await session.call_tool(
                "ingest", {"doc_id": "ops/breaker.md", "text": BREAKER}))
            bread = _payload(await session.call_tool(
                "ingest", {"doc_id": "bread", "text": SOURDOUGH}))
            assert breaker == {"doc_id": "ops/breaker.md",
                               "page_ids": ["ops/breaker.md::chunk_0000"]}
            assert bread["page_ids"] == ["bread::chunk_0000"]
            breaker_page = breaker["page_ids"][0]

            found = _payload(await session.call_tool(
                "search", {"query": "circuit breaker failures", "n": 2}))
            assert [hit["page_id"] for hit in found["results"]][0] == breaker_page
            top = found["results"][0]
            assert top["doc_id"] == "ops/breaker.md" and top["score"] > 0
            assert top["preview"] == BREAKER  # Shorter than a preview: whole.
            keyword = _payload(await session.call_tool(
                "search", {"query": "sourdough starter", "n": 1, "mode": "keyword"}))
            assert [hit["page_id"] for hit in keyword["results"]] == ["bread::chunk_0000"]

            paged = await session.call_tool("page", {"page_id": breaker_page})
            assert not paged.is_error and _text(paged) == BREAKER

            stats = _payload(await session.call_tool("stats", {}))
            assert stats["total_pages"] == 2
            assert stats["active_pages"] == [breaker_page]  # `page` paged it into L1.

            recalled = _payload(await session.call_tool(
                "recall", {"description": "how to bake sourdough bread", "n": 1}))
            assert [(p["page_id"], p["text"], p["truncated"]) for p in recalled["pages"]] == \
                [("bread::chunk_0000", SOURDOUGH, False)]
            cut = _payload(await session.call_tool(
                "recall", {"description": "sourdough bread", "n": 2, "max_chars": 10}))
            assert cut["pages"][0] == {"page_id": "bread::chunk_0000", "text": SOURDOUGH[:10],
                                       "truncated": True}
            # Past the budget: still listed, as it is in L1 now, but with no text.
            assert cut["pages"][1:] == [{"page_id": breaker_page, "text": "", "truncated": True}]

            released = _payload(await session.call_tool("release", {"page_id": breaker_page}))
            assert released == {"page_id": breaker_page, "released": True}
            assert _payload(await session.call_tool("stats", {}))["active_pages"] == \
                ["bread::chunk_0000"]

            # Resources read the store without paging anything in.
            page = await session.read_resource(f"vmllm://page/{breaker_page}")
            assert [c.text for c in page.contents] == [BREAKER]
            documents = json.loads(await _resource_text(session, "vmllm://documents"))
            assert documents == {"documents": [{"doc_id": "bread", "pages": 1},
                                               {"doc_id": "ops/breaker.md", "pages": 1}]}
            stats_resource = json.loads(await _resource_text(session, "vmllm://stats"))
            assert stats_resource["total_pages"] == 2
            context = await _resource_text(session, "vmllm://context")
            assert "[bread::chunk_0000]" in context and breaker_page not in context

    _bounded(body())


def test_bad_arguments_and_missing_pages_are_tool_errors_and_the_server_lives_on(
        store: str, python_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "server.log"

    async def body() -> None:
        async with _stdio_session(store, python_env, log) as (session, _):
            ingested = _payload(await session.call_tool("ingest",
                                                        {"doc_id": "ops", "text": BREAKER}))
            bad_calls = [
                ("search", {"query": "breaker", "n": 0}),
                ("search", {"query": "breaker", "n": mcp_server.MAX_SEARCH_RESULTS + 1}),
                ("search", {"query": "breaker", "mode": "fuzzy"}),
                ("search", {"query": 42}),
                ("search", {}),
                ("recall", {"description": "breaker", "n": -1}),
                ("ingest", {"doc_id": "", "text": "x"}),
                ("ingest", {"doc_id": ["ops"], "text": "x"}),
                ("page", {"page_id": None}),
                ("no_such_tool", {}),
            ]
            for name, arguments in bad_calls:
                result = await session.call_tool(name, arguments)
                assert result.is_error, (name, arguments, _text(result))

            missing = await session.call_tool("page", {"page_id": "nope::chunk_0000"})
            assert missing.is_error and "PageNotFoundError" in _text(missing)
            released = await session.call_tool("release", {"page_id": "nope::chunk_0000"})
            assert released.is_error and "nope::chunk_0000" in _text(released)
            with pytest.raises(MCPError):
                await session.read_resource("vmllm://page/nope::chunk_0000")

            # Still serving, and nothing was stored by the refused calls.
            paged = await session.call_tool("page", {"page_id": ingested["page_ids"][0]})
            assert _text(paged) == BREAKER
            assert _payload(await session.call_tool("stats", {}))["total_pages"] == 1

    _bounded(body())
    server_log = log.read_text()
    assert "Traceback" not in server_log  # Every failure above was anticipated, none crashed.
    assert "7f3c-secret-payload" not in server_log  # Documents never reach the log.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited early"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listening on 127.0.0.1:{port} after {seconds} s")


def test_streamable_http_serves_on_loopback(store: str, python_env: dict[str, str],
                                            tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vmllm", "mcp", "--store", store, "--http", "--port", str(port)],
            env=python_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errlog)
        try:
            _wait_for_port(proc, port, 30)

            async def body() -> Any:
                async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write):
                    async with ClientSession(read, write,
                                             read_timeout_seconds=REQUEST_SECONDS) as session:
                        await session.initialize()
                        return _payload(await session.call_tool(
                            "ingest", {"doc_id": "notes", "text": SOURDOUGH}))

            assert _bounded(body()) == {"doc_id": "notes", "page_ids": ["notes::chunk_0000"]}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
    assert f"on http://127.0.0.1:{port}/mcp" in log.read_text()


def test_host_and_port_need_http(store: str, python_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vmllm", "mcp", "--store", store, "--host", "0.0.0.0"],
        env=python_env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--host and --port need --http" in done.stderr
    assert not Path(store).exists()  # Refused before the store was opened.


def test_import_vmllm_does_not_import_the_sdk(python_env: dict[str, str]) -> None:
    code = ("import sys, vmllm, vmllm.cli, vmllm.mcp_server; "
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))")
    done = subprocess.run([sys.executable, "-c", code], env=python_env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_missing_sdk_says_how_to_install_it(store: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # None in sys.modules makes the import fail, as it does where mcp is not installed.
    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    with pytest.raises(mcp_server.MissingSDKError, match=r"pip install 'vmllm\[mcp\]'"):
        mcp_server.build_server(None)  # type: ignore[arg-type]
    from vmllm.cli import main
    assert main(["mcp", "--store", store]) == 2
    assert "pip install 'vmllm[mcp]'" in capsys.readouterr().err
    assert not Path(store).exists()


def test_only_loopback_addresses_count_as_local() -> None:
    local = ["127.0.0.1", "127.3.2.1", "::1", "localhost"]
    remote = ["0.0.0.0", "::", "192.168.1.10", "example.org", ""]
    assert [mcp_server._is_loopback(h) for h in local] == [True] * len(local)
    assert [mcp_server._is_loopback(h) for h in remote] == [False] * len(remote)
