"""The proxy's sessions in memory: bounded by count and by bytes, least recently used first,
resumed from the store; a look-up that must not start a session does not."""

from __future__ import annotations

import json

from scripted_upstream import openai_history
from vmllm._stream_sessions import StreamSessions

BODY = json.dumps({"model": "m", "messages": openai_history()}).encode()


def test_sessions_are_dropped_by_bytes_least_recently_used_first_and_resume(tmp_path) -> None:
    sessions = StreamSessions(str(tmp_path / "s"), l2="memory", max_live=10, max_bytes=1000)
    try:
        sessions.get("a", weight=400).rewrite("openai", BODY)
        sessions.get("b", weight=400)
        sessions.get("a", weight=400)  # a is now the most recently used...
        sessions.get("c", weight=400)  # ...so b goes: 1,200 bytes is over 1,000.
        assert len(sessions) == 2
        held = sessions.live()
        assert sessions.get("a", weight=400) in held and sessions.get("c", weight=400) in held
        sessions.get("d", weight=5000)  # Alone over the budget: held, every other one dropped.
        assert len(sessions) == 1
        resumed = sessions.get("a", weight=1)
        resumed.rewrite("openai", BODY)
        assert resumed.stats()["requests"] == 2  # Resumed from the store: 1 before, 1 now.
    finally:
        sessions.close()


def test_sessions_are_dropped_by_count(tmp_path) -> None:
    sessions = StreamSessions(str(tmp_path / "s"), l2="memory", max_live=3)
    try:
        for key in "abcde":
            sessions.get(key)
        assert len(sessions) == 3
    finally:
        sessions.close()


def test_find_resumes_a_stored_session_and_never_starts_one(tmp_path) -> None:
    sessions = StreamSessions(str(tmp_path / "s"), l2="memory", max_live=1)
    try:
        assert sessions.find("new") is None
        assert len(sessions) == 0 and sessions.store.spaces() == []
        sessions.get("old").rewrite("openai", BODY)
        sessions.get("other")  # "old" leaves memory; its pages stay in the store.
        found = sessions.find("old")
        assert found is not None
        found.rewrite("openai", BODY)
        assert found.stats()["requests"] == 2  # Resumed: 1 before, 1 now.
        assert sessions.find("never-seen") is None
    finally:
        sessions.close()
