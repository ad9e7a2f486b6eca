"""A transparent paging proxy between an agent and an OpenAI- or Anthropic-compatible API.

``vmllm proxy --upstream URL`` listens on 127.0.0.1:8080 (unless told otherwise) and pages
``POST /v1/chat/completions`` (OpenAI Chat), ``POST /v1/responses`` (OpenAI Responses; one
with ``previous_response_id`` goes through unpaged, the upstream holds its history) and
``POST /v1/messages`` (Anthropic), with or without the ``/v1``. Each request is rewritten by
the native stream layer (``_core.StreamSession``): stale tool results become stubs, unused tool
schemas shrink, the memory tools are offered. ``POST /v1/messages/count_tokens`` is counted on
the body the session would send (never starting a session). Streaming responses (SSE) are
relayed as they arrive; a whole response that only calls vmllm's memory tools (e.g.
``vmllm_recall``) is answered by the proxy from its page store and the request re-sent, so the
client sees only the final answer. In a streaming response a memory-tool call does reach the
client (chunks already relayed cannot be taken back); on the next request the proxy replaces the
client's reply to that call with its own answer. Every other request goes upstream unchanged
(method, path, query, body), its answer relayed as it comes, with a warning once per route
for one that is not a GET. ``/healthz`` answers ``ok``; ``/metrics`` is Prometheus text.

Sessions are keyed by the ``X-Vmllm-Session`` header when given, otherwise by the wire format,
model, system prompt and first two messages, and always by a hash of the caller's API key
(:mod:`._session_key`). A session's pages and state live in the store (``--store PATH``; a
temporary one by default), so a restarted proxy resumes its sessions with byte-identical stubs.
A store error never fails a request: it goes upstream unchanged, with a warning. The API key is
forwarded upstream and never logged; neither are query values.

The server is aiohttp (server and client). One well-kept library gives both halves: a server
whose HTTP/1.1 parser is llhttp in C (strict framing: no request smuggling, chunked bodies,
gzip/deflate decoding with capped decompression), streaming with backpressure
(``StreamResponse.write`` waits for the client to drain), graceful shutdown, and a client with a
pooled keep-alive connector and per-read timeouts. It is one dependency where the alternative
(uvicorn + starlette + httpx + h11) is four, with two event-loop layers between a byte in and a
byte out. The modules: :mod:`._server` (life cycle), :mod:`._protocol` (connections: header
timeout, JSON errors for unparseable requests), :mod:`._handler` (what a request does),
:mod:`._routes` (paths, wire formats, the upstream URL), :mod:`._body` (reading and parsing
bodies), :mod:`._upstream` (the client), :mod:`._session_key`, :mod:`._metrics`,
:mod:`._errors` (error bodies and stream error events per wire format), :mod:`._cli`
(``vmllm proxy`` and ``vmllm run``).
"""

from __future__ import annotations

from ._cli import add_parser, run_cli
from ._metrics import sample_value as _sample_value
from ._server import PagingProxy, ProxyLimits

__all__ = ["PagingProxy", "ProxyLimits", "add_parser", "run_cli", "_sample_value"]
