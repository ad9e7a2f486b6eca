"""One configuration: the backend arguments both facades take, resolved in one place.

:class:`~vmllm.VirtualMemory` and :class:`~vmllm.ConversationMemory` accept the same
``tokenizer=``, ``compressor=``, ``embedder=`` (with ``embedding_dimensions=``) and ``llm_*``
arguments. :func:`resolve` turns them into the core's objects and the Python glue; neither
facade interprets a spec itself, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import _core
from ._llm import Backends
from .errors import InvalidArgumentError
from .tokenizers import TokenizerSpec
from .tokenizers import resolve as resolve_tokenizer


@dataclass
class Config:
    """What one facade's backend arguments resolved to."""

    #: The tokenizer the core counts with.
    tokenizer: _core.Tokenizer
    #: A Python tokenizer ``text -> int`` (the facade cuts with it), or None.
    count_tokens: Optional[Callable[[str], int]]
    #: The embedder and compressor: native objects and the Python glue that feeds them.
    backends: Backends


def resolve(
    *,
    tokenizer: TokenizerSpec,
    compressor: Any,
    embedder: Any,
    embedding_dimensions: Optional[int],
    llm_base_url: Optional[str],
    llm_api_key: Optional[str],
    llm_timeout: float,
    llm_max_retries: int,
    inline_compressor: bool = False,
) -> Config:
    """Checks and resolves the backend arguments (see :class:`~vmllm.VirtualMemory`).

    ``inline_compressor``: the facade calls the compressor itself, on the calling thread
    (:attr:`Backends.compress`), rather than through the core's queue and a worker thread.

    Raises:
        InvalidArgumentError: a bad spec or value.
    """
    check_seconds("llm_timeout", llm_timeout, zero_ok=False)
    check_int("llm_max_retries", llm_max_retries, 0, 100)
    core_tokenizer, count_tokens = resolve_tokenizer(tokenizer)
    backends = Backends(compressor, embedder, base_url=llm_base_url, api_key=llm_api_key,
                        timeout=llm_timeout, max_retries=llm_max_retries,
                        dimensions=embedding_dimensions, inline_compressor=inline_compressor)
    return Config(core_tokenizer, count_tokens, backends)


def check_int(name: str, value: Any, minimum: int, maximum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise InvalidArgumentError(
            f"{name} must be an int from {minimum} to {maximum}, not {value!r}")


def check_seconds(name: str, value: Any, zero_ok: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        bound = "finite and >= 0" if zero_ok else "finite and > 0"
        raise InvalidArgumentError(f"{name} must be a number of seconds, {bound}; not {value!r}")
