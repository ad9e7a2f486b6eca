"""The VirtualMemory facade: the document-paging API of the seed, on vmllm's native core."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, Union

from . import _backends, _config, _core, _json_limits
from ._config import check_int as _check_int
from ._config import check_seconds as _check_seconds
from ._llm import Backends
from .errors import InvalidArgumentError
from .tokenizers import TokenizerSpec

Text = Union[str, bytes]

#: What the page table knows about one page: ``page_id``, ``doc_id``, ``chunk_index``, ``tier``
#: ("L1".."L4": the fastest tier holding a copy), ``tokens``, ``bytes``, ``last_accessed``,
#: ``access_count``, ``fault_count``, ``pinned``, ``compressed``, ``summary``,
#: ``resident_as_summary``. A snapshot: it does not change when the page moves.
PageEntry = _core.PageEntry

_SEARCH_MODES = ("hybrid", "vector", "keyword")


class PageTableView(Mapping[str, "_core.PageEntry"]):
    """Read-only mapping from page id to :data:`PageEntry`, straight from the page table.

    Lookups are O(1) in the native page table; iteration lists every page of the store.
    """

    def __init__(self, pager: _core.Pager) -> None:
        self._pager = pager

    def __getitem__(self, page_id: str) -> _core.PageEntry:
        if not isinstance(page_id, str):
            raise KeyError(page_id)
        return self._pager.page_info(page_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._pager.page_ids())

    def __len__(self) -> int:
        return int(self._pager.page_count())

    def __contains__(self, page_id: object) -> bool:
        if not isinstance(page_id, str):
            return False
        try:
            self._pager.page_info(page_id)
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<PageTableView: {len(self)} pages>"

    def _repr_html_(self) -> str:
        from .display import page_table_html
        return page_table_html(self)


class VirtualMemory:
    """A context window managed like virtual memory.

    Text is cut into pages of at most ``page_tokens`` tokens and stored durably (L4) and
    searchably (L3) in the store at ``path``. ``request_page`` brings a page into the context
    window (L1, at most ``l1_tokens`` tokens), evicting by ``policy`` when it is full; evicted
    pages go to a hot cache (L2) and are compressed, while their originals stay on disk.

    Args:
        path: Store directory, created if missing. ``None`` makes a temporary store that is
            removed on :meth:`close`.
        l1_tokens: The context budget in tokens.
        page_tokens: The largest page :meth:`ingest` makes. Must not exceed ``l1_tokens``.
        policy: Eviction policy name; see :func:`vmllm.eviction_policies`.
        l2_bytes: Byte cap of the embedded L2 cache.
        l2_ttl_seconds: Time to live of an L2 entry, refreshed on every read.
        l2: The L2 backend: ``"memory"`` (embedded), ``"redis://[user:password@]host:port/db"``
            or ``"unix:///path/to/redis.sock?db=N"`` (a Redis shared by every process on the
            same store). ``None`` (the default) means ``$REDIS_URL`` if set, else ``"memory"``.
            An unreachable Redis is logged (logger ``"vmllm"``) and counted in ``stats()``;
            pages are then read from L3/L4, and Redis is used again once it is back.
        compressor: What summarises evicted pages: ``"extractive"`` (built in, offline),
            ``"openai:MODEL"`` (an OpenAI-compatible chat model, on background threads), a
            callable ``str -> str`` or a LangChain chat model (run on a Python thread).
        embedder: What makes the vectors of semantic search: ``"hashing"`` (built in),
            ``"openai:MODEL"``, a callable ``list[str] -> list[list[float]]`` or a LangChain
            ``Embeddings``. Changing it rebuilds the store's vector index. A remote embedder
            is first called at the first search or ingest, never at open: a store whose
            embedder is down opens, reads pages and searches by keyword. Whenever the vector
            half of a hybrid search fails (server down, vectors of another size), the search
            uses BM25 alone, counts it in ``stats()["search_fallbacks"]`` and logs a warning
            once (logger ``"vmllm"``); ``mode="vector"`` raises instead.
        llm_base_url: Base URL of the OpenAI-compatible server; default ``$OPENAI_BASE_URL``,
            else ``https://api.openai.com/v1``.
        llm_api_key: API key; default ``$OPENAI_API_KEY``. Never logged or put in an error.
        llm_timeout: Seconds one HTTP attempt may take.
        llm_max_retries: Retries after a 429, a 5xx or a connection error.
        embedding_dimensions: The size of the embedder's vectors. For ``"openai:MODEL"`` it is
            sent as the request's ``dimensions`` field (text-embedding-3 models shorten their
            vectors to it) and sizes the index; for a Python embedder it is checked against
            the vectors it returns. ``None``: the model's own size (learned with one request
            at first use for a model vmllm does not know). Vectors of any other size are
            refused with an error naming both sizes.
        tokenizer: ``"cl100k_base"``, ``"o200k_base"``, ``"approx"``, a callable
            ``f(text) -> int`` or ``None`` (exact cl100k_base from the rank files that ship
            with vmllm; approx only if asked for, or with a RuntimeWarning if those files are
            missing; see :mod:`vmllm.tokenizers`). A callable cuts pages on the Python side
            (the core never calls into Python); the core then counts L1 headers and summaries
            approximately.

    Safe to share between threads; every blocking call releases the GIL. Use it as a context
    manager, or call :meth:`close`, so that write-behind statistics reach the disk.

    >>> vm = VirtualMemory(l1_tokens=100, page_tokens=50)
    >>> ids = vm.ingest("notes", "The circuit breaker opens after 5 failures. " * 20)
    >>> vm.request_page(ids[0]).startswith("The circuit breaker")
    True
    >>> vm.page_table[ids[0]].tier
    'L1'
    >>> vm.close()
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        l1_tokens: int = 6000,
        page_tokens: int = 2000,
        policy: str = "lru",
        *,
        l2_bytes: int = 64 << 20,
        l2_ttl_seconds: float = 3600.0,
        stats_flush_seconds: float = 2.0,
        l2: str | None = None,
        compressor: Any = "extractive",
        embedder: Any = "hashing",
        llm_base_url: str | None = None,
        llm_api_key: str | None = None,
        llm_timeout: float = 60.0,
        llm_max_retries: int = 4,
        tokenizer: TokenizerSpec = None,
        embedding_dimensions: int | None = None,
    ) -> None:
        for name, value in (("l1_tokens", l1_tokens), ("page_tokens", page_tokens),
                            ("l2_bytes", l2_bytes)):
            _check_int(name, value, 1, _MAX_SIZE)
        _check_seconds("l2_ttl_seconds", l2_ttl_seconds, zero_ok=False)
        _check_seconds("stats_flush_seconds", stats_flush_seconds, zero_ok=True)
        if not isinstance(policy, str):
            raise InvalidArgumentError(f"policy must be a str, not {type(policy).__name__}")
        l2_url = _backends.resolve_l2(l2)
        config = _config.resolve(
            tokenizer=tokenizer, compressor=compressor, embedder=embedder,
            embedding_dimensions=embedding_dimensions, llm_base_url=llm_base_url,
            llm_api_key=llm_api_key, llm_timeout=llm_timeout, llm_max_retries=llm_max_retries)
        core_tokenizer, self._count_tokens = config.tokenizer, config.count_tokens
        self._page_tokens = page_tokens
        self._llm_backends = config.backends
        self._temporary = path is None
        self._path = tempfile.mkdtemp(prefix="vmllm-") if path is None else os.fspath(path)
        try:
            self._pager = _core.Pager(
                self._path,
                l1_tokens=l1_tokens,
                page_tokens=page_tokens,
                policy=policy,
                l2_bytes=l2_bytes,
                l2_ttl_seconds=float(l2_ttl_seconds),
                stats_flush_seconds=float(stats_flush_seconds),
                l2_url=l2_url,
                embedder=self._llm_backends.native_embedder,
                compressor=self._llm_backends.native_compressor,
                tokenizer=core_tokenizer,
            )
            self._llm_backends.feed(self._pager)
        except BaseException:
            self._llm_backends.close()
            if self._temporary:
                shutil.rmtree(self._path, ignore_errors=True)
            raise
        finally:
            _backends.log_backend_warnings()
        if l2_url or self._llm_backends.remote:
            # A remote backend warns on its state changes (Redis down, the embedder failing
            # and search falling back to keywords); this drains the warnings into the log.
            self._pager = _backends.WarningPager(self._pager)  # type: ignore[assignment]
        self._closed = False
        # Whatever happens to this object, a temporary store does not outlive it. Unclosed at
        # exit, an error closing the store is logged (an exit hook has no caller to raise to).
        self._finalizer = weakref.finalize(
            self, _close_store, self._pager, self._path if self._temporary else None,
            self._llm_backends, True)
        self._page_table = PageTableView(self._pager)

    # --- documents -------------------------------------------------------------------------

    def ingest(self, doc_id: str, text: Text) -> list[str]:
        """Cut ``text`` into pages and store them durably; return their ids in order.

        Page ids are ``"{doc_id}::chunk_{index:04d}"``. Ingesting an existing ``doc_id``
        replaces that document. Empty text stores a document with no pages (``[]``).
        ``text`` may be ``str`` or UTF-8 ``bytes``; invalid UTF-8 raises
        :class:`~vmllm.InvalidArgumentError` and stores nothing. Memory use does not grow with
        the size of the document beyond the text itself.
        """
        if not isinstance(doc_id, str):
            raise InvalidArgumentError(f"doc_id must be a str, not {type(doc_id).__name__}")
        if self._count_tokens is not None:
            # A Python tokenizer: cut here, on this thread, and hand the core the cuts.
            cuts = _core.chunk(text, self._page_tokens, kind="auto", doc_id=doc_id,
                               counter=self._count_tokens)
            ids = list(self._pager.ingest_chunks(doc_id, text, cuts))
        else:
            ids = list(self._pager.ingest(doc_id, text))
        self._llm_backends.feed(self._pager)
        return ids

    def delete(self, doc_id: str) -> int:
        """Delete document ``doc_id``: its pages leave every tier and both indexes (other
        processes on the store drop them at their next search or page-in). Returns how many
        pages it had; 0 for an unknown document."""
        if not isinstance(doc_id, str):
            raise InvalidArgumentError(f"doc_id must be a str, not {type(doc_id).__name__}")
        return int(self._pager.delete(doc_id))

    def read_page(self, page_id: str) -> str:
        """The full original text of a page, read from disk without paging it in."""
        return str(self._pager.read_page(_page_id(page_id)))

    # --- paging ----------------------------------------------------------------------------

    def request_page(self, page_id: str, full: bool = True) -> str:
        """Page ``page_id`` into the context window (L1) and return its text.

        By default this is the whole page, exactly as ingested, even after the page was
        released and compressed: it comes back from the fastest tier holding it (L2, then L3,
        then L4), and a summary already resident in L1 is upgraded to the whole page. An L1
        hit costs nothing; otherwise this is a page fault, and pages leave L1 by policy to
        make room.

        ``full=False`` asks for the summary instead: a page that was compressed when it left
        comes back as its summary (a few tokens in L1, marked ``[COMPRESSED SUMMARY]`` in
        :meth:`build_context`); a page never compressed comes back whole. What L1 holds is
        what this returns, and ``page_table[page_id].resident_as_summary`` says which.
        (Before issue 12 the summary was the default.)

        Raises:
            PageNotFoundError: unknown page id (a ``KeyError``).
            CapacityError: pinned pages leave no room for it.
        """
        return str(self._pager.request_page(_page_id(page_id), full=_flag("full", full)))

    def request_pages(self, page_ids: list[str], full: bool = True) -> list[str]:
        """Page in several pages at once; return each one's text, in order (whole pages by
        default; ``full=False`` for summaries, as :meth:`request_page`).

        Like :meth:`request_page` for each id, but the pages that must be faulted in are read
        from L2 in one batch (one pipelined round trip to Redis). Pages this call brings in are
        never evicted to make room for one another: :class:`~vmllm.CapacityError` when they do
        not all fit.
        """
        if isinstance(page_ids, (str, bytes)) or not hasattr(page_ids, "__iter__"):
            raise InvalidArgumentError(
                f"page_ids must be a list of page ids, not {type(page_ids).__name__}")
        ids = [_page_id(p) for p in page_ids]
        return [str(t) for t in self._pager.request_pages(ids, full=_flag("full", full))]

    def release_page(self, page_id: str, compress: bool = True) -> bool:
        """Page ``page_id`` out of L1 into L2 (and the L3 swap), compressing it first.

        Returns ``False`` when the page was not in L1. The original is never lost: the summary
        is an extra view; ``request_page(page_id)`` brings the whole page back (from L2 while
        it is there) and ``request_page(page_id, full=False)`` the summary.
        """
        return bool(self._pager.release_page(_page_id(page_id),
                                             compress=_flag("compress", compress)))

    def pin(self, page_id: str) -> None:
        """Keep ``page_id`` in L1 until :meth:`unpin`; pages it in if needed.

        Raises :class:`~vmllm.CapacityError` if pinned pages would exceed the L1 budget.
        """
        self._pager.pin(_page_id(page_id))

    def unpin(self, page_id: str) -> None:
        """Let the eviction policy consider ``page_id`` again."""
        self._pager.unpin(_page_id(page_id))

    # --- search and faults -----------------------------------------------------------------

    def semantic_find(self, query: str, n: int = 5, mode: str = "hybrid") -> list[str]:
        """Page ids that best match ``query``, best first (L3 search; nothing is paged in).

        ``mode`` is ``"hybrid"`` (vector and BM25 ranks fused), ``"vector"`` or ``"keyword"``.
        """
        return [page_id for page_id, _ in self.search(query, n=n, mode=mode)]

    def search(self, query: str, n: int = 5, mode: str = "hybrid") -> list[tuple[str, float]]:
        """Like :meth:`semantic_find`, with each hit's score (higher is better)."""
        if mode not in _SEARCH_MODES:
            raise InvalidArgumentError(f"mode must be one of {_SEARCH_MODES}, not {mode!r}")
        _check_count(n)
        self._prepare_search(query, mode)
        return [(str(p), float(s)) for p, s in self._pager.search(query, n=n, mode=mode)]

    def fault(self, description: str, n: int = 3) -> list[str]:
        """Resolve a page fault described in words: find the best ``n`` pages, page them in.

        Bounded: it never evicts a page that this same call brought in, so it stops early when
        the budget is full. Returns the ids now resident, best first.
        """
        _check_count(n)
        self._prepare_search(description, "hybrid")
        return list(self._pager.fault(description, n=n))

    def _prepare_search(self, query: str, mode: str) -> None:
        """A Python embedder computes, before the core searches, what the search will need."""
        self._llm_backends.feed(self._pager)
        if mode != "keyword" and isinstance(query, str):
            self._llm_backends.provide_query(query)

    # --- the context window ----------------------------------------------------------------

    def build_context(self) -> str:
        """L1 as prompt text: ``=== [page_id] ===`` sections in the order pages entered.

        A page resident as its summary carries ``[COMPRESSED SUMMARY]`` under its header.
        """
        return str(self._pager.build_context())

    def context_token_count(self) -> int:
        """Tokens now in L1."""
        return int(self._pager.context_tokens())

    def active_pages(self) -> list[str]:
        """Ids of the pages in L1, in the order they entered."""
        return list(self._pager.active_pages())

    @property
    def page_table(self) -> PageTableView:
        """Read-only mapping: page id -> :data:`PageEntry`."""
        return self._page_table

    def stats(self, space: str = "doc") -> dict[str, Any]:
        """Counters and occupancy: per tier (``stats()["tiers"]["L2"]["hits"]``…) hits,
        misses, errors, pages, bytes and tokens; plus faults, evictions, releases,
        compressions, searches (``search_fallbacks``: hybrid searches answered by BM25 alone
        because the vector half failed) and the L1 budget. With an LLM or Python compressor also
        ``compression_fallbacks`` (jobs that failed and got the extractive summary),
        ``compressions_pending`` and ``last_compression_error``.

        Pages, occupancy, requests, faults, evictions, releases and searches are those of one
        space of the store: the documents by default, or e.g. a proxy session's
        ``"stream:<name>"`` (see :meth:`spaces`)."""
        if not isinstance(space, str):
            raise InvalidArgumentError(f"space must be a str, not {type(space).__name__}")
        return dict(self._pager.stats(space))

    def spaces(self) -> list[str]:
        """The spaces of this store that hold pages: ``"doc"`` for documents, and one per
        front end's session (``"stream:<name>"`` for a proxy or middleware session)."""
        return list(self._pager.spaces())

    def events(self, after: int = 0, limit: int = 4096) -> list[dict[str, Any]]:
        """What the engine did to pages in this process, oldest first: dicts with ``seq``,
        ``time``, ``kind`` (``put``, ``page_in``, ``eviction``, ``release``, ``compression``,
        ``pin``, ``unpin``, ``delete``), ``space``, ``page_id``, ``tokens`` and, for a page-in,
        ``from_tier``. Poll with ``after`` = the last ``seq`` seen; only the newest 4096 are
        kept, so a gap in ``seq`` means events were missed."""
        _check_int("after", after, 0, 2**63 - 1)
        _check_int("limit", limit, 0, 2**63 - 1)
        return list(self._pager.events(after, limit))

    # --- hand-off --------------------------------------------------------------------------

    def hand_off(self, task_state: Any = None) -> str:
        """A JSON snapshot for another agent: ``task_state`` (any JSON-serialisable value),
        the active page ids, swap page ids of the same documents and summaries. Pointers, not
        payloads: the receiver reads the pages from the shared store. ``task_state`` may nest
        at most 128 deep and take 16 MiB as JSON (see README, Limits)."""
        try:
            state = _json_limits.dumps({} if task_state is None else task_state, "task_state")
        except InvalidArgumentError:
            raise  # Too deep: already says so.
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"task_state is not JSON-serialisable: {exc}") from exc
        return str(self._pager.hand_off(state))

    def receive_hand_off(self, snapshot: str | bytes) -> Any:
        """Restore another agent's active pages from ``snapshot`` (made by :meth:`hand_off`
        on a VirtualMemory over the same store) and return its task state.

        Pages are read from this store's tiers by id; ids it does not hold are skipped.
        Raises :class:`~vmllm.InvalidArgumentError` for a malformed snapshot.
        """
        return json.loads(self._pager.receive_hand_off(snapshot))

    # --- lifetime --------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The store directory."""
        return self._path

    def flush(self) -> None:
        """Wait for pending compression jobs, then write behind-state (access statistics, the
        vector index snapshot) to disk."""
        self._pager.flush()

    def close(self) -> None:
        """Flush and release the store; a temporary store is deleted. Idempotent.

        Raises ``StorageError`` when what was pending could not be written (for example, the
        store directory was deleted while open)."""
        if not self._closed:
            self._closed = True
            detached = self._finalizer.detach()
            if detached is not None:
                _, _, args, _ = detached
                _close_store(*args[:3], quiet=False)

    def __enter__(self) -> VirtualMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _engine(self) -> _core.Pager:
        """The native engine, for front ends that keep their own spaces in this store."""
        pager = self._pager
        return pager._pager if isinstance(pager, _backends.WarningPager) else pager

    def __repr__(self) -> str:
        if self._closed:
            return f"<VirtualMemory {self._path!r} (closed)>"
        s = self.stats()
        return (f"<VirtualMemory {self._path!r}: {s['total_pages']} pages, "
                f"L1 {s['l1_used']}/{s['l1_budget']} tokens, policy={s['policy']}>")

    def _repr_html_(self) -> str:
        from .display import virtual_memory_html
        return virtual_memory_html(self)


#: Largest ``n`` of a search or fault (the core refuses more, too).
MAX_RESULTS = 100_000
_MAX_SIZE = 1 << 62  # Token budgets and byte caps: far above any real one, below C++'s range.
_log = logging.getLogger("vmllm")


def _page_id(page_id: Any) -> str:
    """A page id as the core takes it: a str of valid Unicode (no lone surrogates)."""
    if not isinstance(page_id, str):
        raise InvalidArgumentError(f"a page id is a str, not {type(page_id).__name__}")
    try:
        page_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError("a page id must be valid Unicode (no lone surrogates)") from None
    return page_id


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    return value


def _check_count(n: int) -> None:
    _check_int("n", n, 0, MAX_RESULTS)


def _close_store(pager: _core.Pager, temporary_path: str | None,
                 backends: Backends | None = None, quiet: bool = False) -> None:
    try:
        pager.close()
    except Exception as e:
        if not quiet:
            raise
        _log.warning("vmllm: closing the store at exit failed: %s", e)
    finally:
        if backends is not None:
            backends.close()
        if temporary_path is not None:
            shutil.rmtree(temporary_path, ignore_errors=True)
