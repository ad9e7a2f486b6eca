"""The proxy's client side: one pooled keep-alive aiohttp session to the configured upstream.

Connections are reused across requests (no TCP or TLS handshake per call), at most
``connections`` to the host at once; asyncio sets TCP_NODELAY on them. Timeouts: ``connect``
for getting a connection, ``read`` between two reads of the response (a stream that pauses
longer is broken), no total: a long generation is not cut off while it keeps talking.
Responses are relayed byte for byte (no decompression: the proxy asks for identity).
"""

from __future__ import annotations

import asyncio
from typing import Mapping

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from ._routes import UpstreamURL
from ._session_key import SESSION_HEADER

# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself.
_REQUEST_DROP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding",
                 "te", "trailer", "upgrade", "proxy-authorization", "proxy-connection",
                 "accept-encoding", "content-encoding", "expect", SESSION_HEADER}
_RESPONSE_DROP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                  "proxy-authenticate", "proxy-connection", "content-length"}


def _dropped(headers: Mapping[str, str], fixed: set[str]) -> set[str]:
    """``fixed`` plus every header the message's Connection header names."""
    named = {token.strip().lower() for value in headers.getall("Connection", [])  # type: ignore[attr-defined]
             for token in value.split(",")}
    return fixed | named


def request_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The client's headers as they go upstream: the API key and everything end to end kept,
    hop-by-hop ones dropped, the body identity-encoded."""
    drop = _dropped(headers, _REQUEST_DROP)
    out: CIMultiDict[str] = CIMultiDict(
        (k, v) for k, v in headers.items() if k.lower() not in drop)
    out["Accept-Encoding"] = "identity"  # The proxy reads responses: no compression.
    return out


def response_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    """The upstream's headers as they go to the client (framing is the proxy's own)."""
    drop = _dropped(headers, _RESPONSE_DROP)
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in drop)


class UpstreamClient:
    """Requests to the configured upstream. Create and close it on the proxy's event loop."""

    def __init__(self, url: UpstreamURL, connections: int, connect_timeout: float,
                 read_timeout: float, idle_timeout: float) -> None:
        self.url = url
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=connections,
                                         keepalive_timeout=idle_timeout,
                                         enable_cleanup_closed=False)
        timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout,
                                        sock_read=read_timeout)
        self.session = aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False,
            skip_auto_headers=("User-Agent", "Content-Type"), cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False)

    async def send(self, method: str, target: str, headers: Mapping[str, str],
                   body: bytes | None) -> aiohttp.ClientResponse:
        """Sends one request; the caller reads and releases the response."""
        return await self.session.request(
            method, URL(self.url.url(target), encoded=True), headers=request_headers(headers), data=body,
            allow_redirects=False, compress=None, chunked=None, expect100=False)

    async def close(self) -> None:
        await self.session.close()


def is_event_stream(resp: aiohttp.ClientResponse) -> bool:
    return resp.content_type == "text/event-stream"


def describe(exc: BaseException) -> str:
    """One line for a client about an upstream failure (no traceback, no request headers)."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def failure_status(exc: BaseException) -> int:
    """504 when the upstream was too slow, 502 otherwise."""
    return 504 if isinstance(exc, asyncio.TimeoutError) else 502

