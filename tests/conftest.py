from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vmllm


def paragraphs(n: int, topic: str = "topic") -> str:
    """A document of ``n`` paragraphs of roughly 60 tokens, each naming its own number."""
    return "".join(
        f"Section {i} about {topic} {i}. The quick brown fox jumps over the lazy dog while the "
        "service retries the request with exponential backoff and a circuit breaker guards "
        "the database.\n\n"
        for i in range(n)
    )


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def vm(store: str) -> Iterator[vmllm.VirtualMemory]:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as memory:
        yield memory


@pytest.fixture
def python_env() -> dict[str, str]:
    """Environment for child Python processes that import the same vmllm."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
