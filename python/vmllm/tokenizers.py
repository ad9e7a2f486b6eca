"""Choosing the tokenizer that measures pages: exact ``cl100k_base`` unless told otherwise.

The exact tokenizers (``"cl100k_base"``, ``"o200k_base"``) are vmllm's own C++ byte-pair
encoder reading tiktoken's rank files; their counts and ids equal tiktoken's. vmllm ships both
rank files (``vmllm/rank_files/``, OpenAI's public files, MIT; see the NOTICE there), so exact
counting needs no network and no other package. A rank file is looked for, in this order, in:

1. the package's own ``rank_files/`` folder,
2. ``$VMLLM_TOKENIZER_DIR`` (files named ``cl100k_base.tiktoken`` / ``o200k_base.tiktoken``, or
   tiktoken's cache names),
3. ``$TIKTOKEN_CACHE_DIR`` (tiktoken's own cache folder),
4. the copies the ``litellm`` package ships (it is found, not imported).

The shipped files come first because they are known good (their SHA-256 equals the digests
tiktoken checks); the other places only matter for a build of vmllm that lacks them.

>>> tok = get_tokenizer("approx")
>>> tok.count("hello world")
2
"""
from __future__ import annotations

import importlib.util
import logging
import os
import threading
import warnings
from typing import Callable, Optional, Union

from . import _core
from .errors import InvalidArgumentError, VmllmError

__all__ = ["BPE_ENCODINGS", "SHIPPED_RANK_DIR", "TokenizerSpec", "find_rank_file",
           "get_tokenizer", "rank_file_dirs", "resolve"]

logger = logging.getLogger("vmllm")

BPE_ENCODINGS = ("cl100k_base", "o200k_base")
DEFAULT_ENCODING = "cl100k_base"
# The rank files that ship inside the package (read at call time, so tests can point it away).
SHIPPED_RANK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rank_files")

TokenizerSpec = Union[str, Callable[[str], int], "_core.Tokenizer", None]

_lock = threading.Lock()
_cache: dict[str, _core.Tokenizer] = {}
_fallback_logged = False


def rank_file_dirs() -> list[str]:
    """Folders searched after the shipped files, ``$VMLLM_TOKENIZER_DIR`` and ``$TIKTOKEN_CACHE_DIR``.

    These are the ``litellm`` package's copies, named as tiktoken's cache names them (so one of
    these folders can also serve as ``$TIKTOKEN_CACHE_DIR`` for tiktoken itself).
    """
    dirs = []
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            path = os.path.join(root, "litellm_core_utils", "tokenizers")
            if os.path.isdir(path):
                dirs.append(path)
    return dirs


def find_rank_file(name: str) -> str:
    """Path of the rank file of BPE encoding ``name``: the shipped copy, else the first found.

    Raises:
        vmllm.errors.PageNotFoundError (a KeyError): the rank file is nowhere to be found.
        vmllm.errors.InvalidArgumentError: an unknown encoding.
    """
    shipped = os.path.join(SHIPPED_RANK_DIR, f"{name}.tiktoken")
    if name in BPE_ENCODINGS and os.path.isfile(shipped):
        return shipped
    return _core.find_bpe_rank_file(name, rank_file_dirs())


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
            path = find_rank_file(name)
            tok = _core.bpe_tokenizer(name, path)
            _cache[name] = tok
        return tok


def resolve(spec: TokenizerSpec) -> tuple[_core.Tokenizer, Optional[Callable[[str], int]]]:
    """Turns a ``tokenizer=`` argument into (core tokenizer, Python counter or None).

    ``None`` means exact ``cl100k_base``. Only if its rank file is somehow missing (a broken
    install) is ``"approx"`` used instead, with a ``RuntimeWarning`` once per process and a
    warning on the ``vmllm`` logger; ask for ``"approx"`` to count approximately on purpose. A callable ``f(text) -> int``
    is returned as the Python counter; core threads never call into Python, so the core keeps
    the approximate tokenizer for its own accounting and the facade uses ``f`` for page cuts.
    """
    global _fallback_logged
    if spec is None:
        try:
            return get_tokenizer(DEFAULT_ENCODING), None
        except VmllmError as e:
            with _lock:
                first = not _fallback_logged
                _fallback_logged = True
            if first:
                # Loud on purpose: the rank files ship with vmllm, so reaching this is a broken
                # install, and every page size and budget is then only an estimate.
                message = (f"vmllm: exact {DEFAULT_ENCODING} tokenizer unavailable ({e}); the "
                           f"rank files that ship in {SHIPPED_RANK_DIR} are missing, so tokens "
                           "are counted APPROXIMATELY. Reinstall vmllm, or set "
                           "VMLLM_TOKENIZER_DIR to a folder with the rank files; pass "
                           "tokenizer='approx' to choose approximate counting explicitly.")
                logger.warning("%s", message)
                warnings.warn(message, RuntimeWarning, stacklevel=3)
            return _core.approx_tokenizer(), None
    if isinstance(spec, _core.Tokenizer):
        return spec, None
    if isinstance(spec, str):
        return get_tokenizer(spec), None
    if callable(spec):
        return _core.approx_tokenizer(), spec
    raise InvalidArgumentError(
        f"tokenizer must be a name, a callable or None, not {type(spec).__name__}")
