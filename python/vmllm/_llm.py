"""Compressor and embedder back-ends for both facades (resolved by :mod:`vmllm._config`).

The native core does the work for the built-in back-ends (``"extractive"``, ``"hashing"``) and
for OpenAI-compatible servers (``"openai:MODEL"``, through its libcurl client). A Python
callable, a LangChain ``Embeddings`` or a LangChain chat model also serves, but core threads
never call into Python, so their calls happen here, on Python's side:

* **Embeddings** — the core asks a :class:`_core.ProvidedEmbedder` for vectors. Before the
  core needs them (after ``ingest``, before a search), :meth:`Backends.feed` asks the core
  (a pager or a conversation memory) which texts still lack a vector (``texts_to_embed``),
  computes the vectors in Python in batches and hands them over; the core then catches up. A
  query's vector is computed and handed over just before the search that needs it.
* **Compression** — for VirtualMemory, eviction puts a job in a
  :class:`_core.QueuedCompressor` and returns at once. A daemon thread here takes jobs, calls
  the Python compressor and completes them; the page gets its summary then (and comes back in
  full until then). A job that raises falls back to the extractive summary, counted in
  ``stats()["compression_fallbacks"]``. ConversationMemory summarises on the calling thread
  (``inline_compressor``): :attr:`Backends.compress` is then the function it calls, an
  ``"openai:MODEL"`` spec included.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Callable, Optional

from . import _core
from .errors import InvalidArgumentError

_log = logging.getLogger("vmllm")

#: Dimensions of well-known OpenAI embedding models (others are learned with one probe request
#: at the first search or ingest, never at open).
_KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_EMBED_BATCH = 256
_COMPRESS_BATCH = 8


def _describe(obj: Any) -> str:
    kind = obj if callable(obj) and hasattr(obj, "__qualname__") else type(obj)
    name = f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"
    model = getattr(obj, "model", None) or getattr(obj, "model_name", None)
    return f"python:{name}" + (f":{model}" if isinstance(model, str) else "")


def _message_text(reply: Any) -> str:
    """The text of a LangChain message (``.content`` may be a list of parts) or a string."""
    content = getattr(reply, "content", reply)
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    raise TypeError(f"the chat model returned {type(reply).__name__}, not a message")


class Backends:
    """The embedder and compressor of one facade, native objects and Python glue.

    Thread safety: :meth:`feed` and :meth:`provide_query` may run on several threads at once.
    """

    def __init__(
        self,
        compressor: Any = "extractive",
        embedder: Any = "hashing",
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        dimensions: Optional[int] = None,
        inline_compressor: bool = False,
    ) -> None:
        self._client_args = dict(base_url=base_url, api_key=api_key, timeout=float(timeout),
                                 max_retries=int(max_retries))
        self._client: Optional[_core.LlmClient] = None
        self.native_embedder: Optional[_core.Embedder] = None
        self.native_compressor: Optional[_core.AsyncCompressor] = None
        self._embed_documents: Optional[Callable[[list[str]], Any]] = None
        self._embed_query: Optional[Callable[[str], Any]] = None
        self._provided: Optional[_core.ProvidedEmbedder] = None
        self._compress: Optional[Callable[[str], Any]] = None
        self._inline = inline_compressor
        self._queue: Optional[_core.QueuedCompressor] = None
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        #: True when a remote (HTTP) embedder is configured: its warnings must reach the log.
        self.remote = False
        self._setup_embedder(embedder, _check_dimensions(dimensions))
        self._setup_compressor(compressor)

    # --- set-up ----------------------------------------------------------------------------

    def _llm_client(self) -> _core.LlmClient:
        if self._client is None:
            self._client = _core.LlmClient(**self._client_args)
        return self._client

    def _setup_embedder(self, embedder: Any, dimensions: Optional[int]) -> None:
        if embedder is None or embedder == "hashing":
            if dimensions is not None:
                raise InvalidArgumentError(
                    "embedding_dimensions applies to an 'openai:MODEL' or Python embedder; the "
                    "built-in 'hashing' embedder has a fixed size")
            return
        if isinstance(embedder, str):
            model = _openai_model(embedder)
            if not model:
                raise InvalidArgumentError(
                    f"embedder must be 'hashing', 'openai:MODEL', a callable or a LangChain "
                    f"Embeddings, not {embedder!r}")
            known = _KNOWN_DIMENSIONS.get(model, 0)
            if dimensions is not None and known and dimensions > known:
                raise InvalidArgumentError(
                    f"embedding_dimensions is {dimensions}, but {model} makes vectors of "
                    f"{known} dimensions; ask for {known} or fewer")
            # No request here: an unknown size is learned at first use, so that opening the
            # store never needs the server to be up.
            self.native_embedder = _core.llm_embedder(
                self._llm_client(), model, known, requested_dimensions=dimensions or 0)
            self.remote = True
            return
        if hasattr(embedder, "embed_documents"):  # A LangChain Embeddings.
            self._embed_documents = embedder.embed_documents
            self._embed_query = getattr(embedder, "embed_query", None)
        elif callable(embedder):
            self._embed_documents = embedder
        else:
            raise InvalidArgumentError(
                f"embedder must be a str, a callable or a LangChain Embeddings, not "
                f"{type(embedder).__name__}")
        probe = self._vectors(["dimension probe"])
        if dimensions is not None and len(probe[0]) != dimensions:
            raise InvalidArgumentError(
                f"embedding dimension mismatch: the embedder returned vectors of "
                f"{len(probe[0])} dimensions, but embedding_dimensions is {dimensions}")
        self._provided = _core.ProvidedEmbedder(_describe(embedder), len(probe[0]))
        self.native_embedder = self._provided

    @property
    def compress(self) -> Optional[Callable[[str], Any]]:
        """With ``inline_compressor``: the summariser the facade calls (None: extractive)."""
        return self._compress if self._inline else None

    def _setup_compressor(self, compressor: Any) -> None:
        if compressor is None or compressor == "extractive":
            return
        if isinstance(compressor, str):
            model = _openai_model(compressor)
            if not model:
                raise InvalidArgumentError(
                    f"compressor must be 'extractive', 'openai:MODEL', a callable or a "
                    f"LangChain chat model, not {compressor!r}")
            if not self._inline:
                self.native_compressor = _core.llm_compressor(self._llm_client(), model)
                return
            # The same request the native compressor sends, made on the calling thread.
            client, prompt = self._llm_client(), _core.compression_prompt()
            self._compress = lambda text: client.chat(model, [("system", prompt), ("user", text)])
            return
        if hasattr(compressor, "invoke"):  # A LangChain chat model (or any Runnable).
            prompt = _core.compression_prompt()
            model = compressor
            self._compress = lambda text: _message_text(
                model.invoke([("system", prompt), ("human", text)]))
        elif callable(compressor):
            self._compress = compressor
        elif callable(getattr(compressor, "compress", None)):  # An object with compress(text).
            self._compress = compressor.compress
        else:
            raise InvalidArgumentError(
                f"compressor must be a str, a callable, a LangChain chat model or an object "
                f"with compress(text), not {type(compressor).__name__}")
        if self._inline:
            return
        self._queue = _core.QueuedCompressor(_describe(compressor))
        self.native_compressor = self._queue
        self._thread = threading.Thread(target=self._work, name="vmllm-compressor", daemon=True)
        self._thread.start()

    # --- embeddings ------------------------------------------------------------------------

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        assert self._embed_documents is not None
        vectors = [[float(x) for x in v] for v in self._embed_documents(texts)]
        if len(vectors) != len(texts) or not all(vectors):
            raise InvalidArgumentError(
                f"the embedder returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors

    def feed(self, core: Any) -> None:
        """Compute, in Python, the vectors of every text ``core`` (a ``_core.Pager`` or
        ``_core.ConversationMemory``) still lacks."""
        if self._provided is None:
            return
        previous: list[str] = []
        while True:
            texts = list(core.texts_to_embed(_EMBED_BATCH))
            if not texts or texts == previous:  # Done, or no progress (not for want of vectors).
                return
            try:
                vectors = self._vectors(texts)
            except Exception as exc:  # A failing embedder degrades search; it never loses pages.
                _log.warning("vmllm: the embedder failed; pages wait for their vectors: %s", exc)
                return
            self._provided.provide(texts, vectors)
            previous = texts

    @property
    def provided(self) -> bool:
        """True when the embedder runs in Python (its vectors are fed to the core)."""
        return self._provided is not None

    def provide_query(self, query: str) -> None:
        """Hand over the vector of a query the core is about to search for."""
        if self._provided is None or not query.strip():
            return
        try:
            if self._embed_query is not None:
                vector = [float(x) for x in self._embed_query(query)]
            else:
                vector = self._vectors([query])[0]
        except Exception as exc:  # Hybrid search falls back to keywords; vector search raises.
            _log.warning("vmllm: the embedder failed on a query: %s", exc)
            return
        self._provided.provide([query], [vector])

    # --- compression -----------------------------------------------------------------------

    def _work(self) -> None:
        queue, compress = self._queue, self._compress
        assert queue is not None and compress is not None
        while not self._stop.is_set():
            for job_id, text in queue.take(_COMPRESS_BATCH, 0.2):
                try:
                    summary = compress(text)
                    if not isinstance(summary, str) or not summary.strip():
                        raise TypeError(f"the compressor returned {type(summary).__name__} "
                                        "instead of a non-empty str")
                    if len(summary) > len(text):
                        raise ValueError("the compressor returned a summary longer than the page")
                except Exception as exc:  # Any failure: the core falls back to extractive.
                    _log.warning("vmllm: compression failed, using the extractive summary: %s",
                                 exc)
                    queue.fail(job_id, f"{type(exc).__name__}: {exc}"[:500])
                else:
                    queue.complete(job_id, summary)

    def close(self) -> None:
        """Stop the compression thread; unfinished jobs fail (their pages stay whole)."""
        self._stop.set()
        if self._queue is not None:
            self._queue.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)


def _check_dimensions(dimensions: Any) -> Optional[int]:
    if dimensions is None:
        return None
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not \
            2 <= dimensions <= 1 << 16:
        raise InvalidArgumentError(
            f"embedding_dimensions must be an int from 2 to 65536 or None, not {dimensions!r}")
    return dimensions


def _openai_model(spec: str) -> str:
    """The model of an ``"openai:MODEL"`` spec; empty for any other string."""
    return spec[len("openai:"):] if spec.startswith("openai:") else ""
