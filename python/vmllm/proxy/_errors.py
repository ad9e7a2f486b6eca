"""Errors as each wire format spells them: JSON bodies for 4xx/5xx answers, and the event that
ends a stream when the upstream fails mid-way (never an HTTP response inside the body).

A client's SDK raises its own typed error from these: the OpenAI SDK from ``{"error": {...}}``
(a body, or a ``data:`` event in a chat stream), the Anthropic SDK from ``{"type": "error",
"error": {...}}`` (a body, or an ``event: error``), the Responses API's stream from an
``event: error``. For a request whose wire format is unknown (a bad request line) the body
carries both shapes at once.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus

from aiohttp import web

_KIND = {400: "invalid_request_error", 404: "not_found_error", 408: "timeout_error",
         413: "request_too_large", 415: "invalid_request_error", 502: "api_error",
         504: "timeout_error"}


def parser_message(text: str) -> str:
    """An HTTP parser's complaint without the bytes it quotes (a line it could not parse may be
    a header carrying an API key): its first line, up to the first quoted bytes."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    # aiohttp's str() of its errors starts "400, message:"; the message is on the next line.
    first = lines[1] if re.fullmatch(r"\d{3}, message:", lines[0]) and len(lines) > 1 else lines[0]
    return re.split(r"bytearray\(|b'|b\"", first, maxsplit=1)[0].rstrip(" :,.")[:200]


def error_body(wire: str, status: int, message: str) -> bytes:
    """The JSON body of an error answer in ``wire`` ("" when unknown)."""
    kind = _KIND.get(status, "invalid_request_error" if status < 500 else "api_error")
    if wire == "anthropic":
        body: dict[str, object] = {"type": "error", "error": {"type": kind, "message": message}}
    elif wire in ("openai", "openai-responses"):
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    else:
        body = {"type": "error", "error": {"type": kind, "message": message,
                                          "param": None, "code": None}}
    return json.dumps(body).encode()


def error_response(wire: str, status: int, message: str) -> web.Response:
    """A JSON error answer."""
    return web.Response(status=status, reason=HTTPStatus(status).phrase,
                        body=error_body(wire, status, f"vmllm proxy: {message}"),
                        content_type="application/json")


def stream_error_event(wire: str, message: str) -> bytes:
    """The server-sent event that ends a stream in ``wire`` after an upstream failure."""
    text = f"vmllm proxy: {message}"
    if wire == "anthropic":
        data = {"type": "error", "error": {"type": "api_error", "message": text}}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    if wire == "openai-responses":
        data = {"type": "error", "code": "upstream_error", "message": text, "param": None}
        return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"
    data = {"error": {"message": text, "type": "api_error", "param": None, "code": None}}
    return b"data: " + json.dumps(data).encode() + b"\n\n"
