"""Choosing the tokenizer that measures pages: exact BPE when its rank file is found, else approx.

The exact tokenizers (``"cl100k_base"``, ``"o200k_base"``) are vmllm's own C++ byte-pair
encoder reading tiktoken's rank files; their counts and ids equal tiktoken's. vmllm ships no
rank files; it finds them, in this order, in:

1. ``$VMLLM_TOKENIZER_DIR`` (files named ``cl100k_base.tiktoken`` / ``o200k_base.tiktoken``, or
   tiktoken's cache names),
2. ``$TIKTOKEN_CACHE_DIR`` (tiktoken's own cache folder),
3. the copies the ``litellm`` package ships (``pip install litellm``; it is found, not imported).

>>> tok = get_tokenizer("approx")
>>> tok.count("hello world")
2
"""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Callable, Optional, Union

from . import _core
from .errors import InvalidArgumentError, VmllmError

__all__ = ["BPE_ENCODINGS", "TokenizerSpec", "get_tokenizer", "rank_file_dirs", "resolve"]

logger = logging.getLogger("vmllm")

BPE_ENCODINGS = ("cl100k_base", "o200k_base")
DEFAULT_ENCODING = "cl100k_base"

TokenizerSpec = Union[str, Callable[[str], int], "_core.Tokenizer", None]

_lock = threading.Lock()
_cache: dict[str, _core.Tokenizer] = {}
_fallback_logged = False


def rank_file_dirs() -> list[str]:
    """Folders searched after ``$VMLLM_TOKENIZER_DIR`` and ``$TIKTOKEN_CACHE_DIR``."""
    dirs = []
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            path = os.path.join(root, "litellm_core_utils", "tokenizers")
            if os.path.isdir(path):
                dirs.append(path)
    return dirs


def get_tokenizer(name: str) -> _core.Tokenizer:
    """The tokenizer called ``name``: ``"approx"`` or a BPE encoding in :data:`BPE_ENCODINGS`.

    Raises:
        vmllm.errors.PageNotFoundError (a KeyError): the rank file is nowhere to be found.
        vmllm.errors.InvalidArgumentError: an unknown name.
    """
    if name == "approx":
        return _core.approx_tokenizer()
    if name not in BPE_ENCODINGS:
        raise InvalidArgumentError(
            f"unknown tokenizer {name!r}; use 'approx', {', '.join(map(repr, BPE_ENCODINGS))}"
            " or a callable")
    with _lock:
        tok = _cache.get(name)
        if tok is None:
            path = _core.find_bpe_rank_file(name, rank_file_dirs())
            tok = _core.bpe_tokenizer(name, path)
            _cache[name] = tok
        return tok


def resolve(spec: TokenizerSpec) -> tuple[_core.Tokenizer, Optional[Callable[[str], int]]]:
    """Turns a ``tokenizer=`` argument into (core tokenizer, Python counter or None).

    ``None`` means exact ``cl100k_base`` when its rank file is found, else ``"approx"`` (the
    fallback is logged once per process on the ``vmllm`` logger). A callable ``f(text) -> int``
    is returned as the Python counter; core threads never call into Python, so the core keeps
    the approximate tokenizer for its own accounting and the facade uses ``f`` for page cuts.
    """
    global _fallback_logged
    if spec is None:
        try:
            return get_tokenizer(DEFAULT_ENCODING), None
        except VmllmError as e:
            with _lock:
                if not _fallback_logged:
                    _fallback_logged = True
                    logger.warning("vmllm: exact %s tokenizer unavailable (%s); counting tokens "
                                   "approximately. pip install litellm, or set "
                                   "VMLLM_TOKENIZER_DIR.", DEFAULT_ENCODING, e)
            return _core.approx_tokenizer(), None
    if isinstance(spec, _core.Tokenizer):
        return spec, None
    if isinstance(spec, str):
        return get_tokenizer(spec), None
    if callable(spec):
        return _core.approx_tokenizer(), spec
    raise InvalidArgumentError(
        f"tokenizer must be a name, a callable or None, not {type(spec).__name__}")
