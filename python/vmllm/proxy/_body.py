"""Reading a request body: bounded in size and time, and decoded.

aiohttp's parser (llhttp) has already framed the body: a Content-Length that is not a count,
or one beside ``Transfer-Encoding: chunked``, never gets this far, and chunked bodies arrive
de-chunked. gzip and deflate bodies arrive decoded (aiohttp caps each decompression step, and
the size limit here counts decoded bytes, so a small bomb is refused like a large body); they
go upstream identity-encoded.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._errors import parser_message

_DECODED = {"", "identity", "gzip", "deflate"}
_timeout = getattr(asyncio, "timeout", None)


class BodyError(Exception):
    """A request body the proxy refuses: ``status`` (4xx) and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: web.BaseRequest, limit: int, timeout: float) -> bytes:
    """The whole decoded body, or BodyError: 413 past ``limit`` bytes (refused from the
    Content-Length alone when it says so), 408 when it takes longer than ``timeout`` seconds,
    415 for an encoding other than gzip or deflate, 400 when it cannot be decoded."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in _DECODED:
        raise BodyError(415, f"Content-Encoding {encoding[:40]!r} is not supported; send "
                             "identity, gzip or deflate")
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyError(413, f"request body is {declared} bytes; the limit is {limit} bytes")
    if request.headers.get("Expect", "").lower() == "100-continue" and request.version >= (1, 1):
        # curl asks before sending a body over 1 MB; unanswered, it waits a second.
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # The answer proper has not started.
    try:
        if _timeout is None:  # Python < 3.11.
            return await asyncio.wait_for(_read(request, limit, declared, encoding), timeout)
        async with _timeout(timeout):  # No task per request, unlike wait_for.
            return await _read(request, limit, declared, encoding)
    except asyncio.TimeoutError:
        raise BodyError(408, f"request body not received within {timeout:g} s") from None


async def _read(request: web.BaseRequest, limit: int, declared: int | None,
                encoding: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    try:
        if declared is not None and encoding in ("", "identity"):
            return await request.content.readexactly(declared)  # The usual case, in one go.
        async for chunk in request.content.iter_any():
            total += len(chunk)
            if total > limit:
                raise BodyError(413, f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except BodyError:
        raise
    except Exception as exc:  # aiohttp's payload and content-encoding errors.
        raise BodyError(400, f"request body could not be read: {parser_message(str(exc))}") \
            from None
    return b"".join(chunks)
