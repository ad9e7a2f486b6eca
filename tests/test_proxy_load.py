"""A bounded load test: 200 agent sessions at once through one proxy, every request answered."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from scripted_upstream import completion, openai_history
from vmllm.proxy import PagingProxy

SESSIONS, TURNS = 200, 2


class FastUpstream:
    """An aiohttp upstream on its own loop that answers every chat completion at once and
    counts the requests that came paged (with stubs in them)."""

    def __init__(self) -> None:
        self.requests = 0
        self.paged = 0
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def answer(request: web.Request) -> web.Response:
            body = await request.read()
            self.requests += 1
            self.paged += b"paged out p-" in body
            return web.json_response(completion("ok"))

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/v1/chat/completions", answer)
            self.runner = web.AppRunner(app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        ready.wait(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def fast_upstream() -> Iterator[FastUpstream]:
    u = FastUpstream()
    yield u
    u.close()


async def agent(http: aiohttp.ClientSession, url: str, n: int) -> list[int]:
    """One agent: its own conversation, TURNS requests, each resending the whole history."""
    history: list[dict[str, Any]] = openai_history()
    history[0] = {"role": "system", "content": f"You are agent {n}."}
    statuses = []
    for turn in range(TURNS):
        async with http.post(url, data=json.dumps({"model": "m", "messages": history}),
                             headers={"Authorization": "Bearer sk-load",
                                      "Content-Type": "application/json"}) as resp:
            statuses.append(resp.status)
            await resp.read()
        history += [{"role": "assistant", "content": f"turn {turn}"},
                    {"role": "user", "content": "go on"}]
    return statuses


async def agents(url: str) -> list[list[int]]:
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        return await asyncio.gather(*(agent(http, url, n) for n in range(SESSIONS)))


def test_200_concurrent_sessions_are_all_served(fast_upstream: FastUpstream) -> None:
    with PagingProxy(fast_upstream.url, port=0, log=io.StringIO()) as proxy:
        results = asyncio.run(agents(proxy.url + "/v1/chat/completions"))
        assert results == [[200] * TURNS] * SESSIONS
        assert len(proxy.sessions) == SESSIONS  # One session per conversation.
        with proxy.metrics.lock:
            assert proxy.metrics.requests == {("openai", 200): SESSIONS * TURNS}
            assert proxy.metrics.upstream_errors == 0
    assert fast_upstream.requests == SESSIONS * TURNS
    assert fast_upstream.paged == SESSIONS * TURNS
