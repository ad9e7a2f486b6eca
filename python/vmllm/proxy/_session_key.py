"""Which session a request belongs to.

A session belongs to one credential: its key always includes a hash of the caller's API key
(``Authorization``, ``x-api-key`` or ``api-key``; the key itself is never kept), so two callers
never share stubs, recalls, compactions or pins, even under the same ``X-Vmllm-Session`` name
or the same conversation opening. Without that header a session is named by its wire format,
model, system prompt and first two messages: what stays the same while a conversation grows.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

SESSION_HEADER = "x-vmllm-session"
_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "api-key")


def credential(headers: Mapping[str, str]) -> str:
    """A hash of the caller's API key (never the key): sessions of two keys never meet."""
    key = ""
    for name in _CREDENTIAL_HEADERS:
        key = headers.get(name) or ""
        if key:
            break
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def session_key(wire: str, request: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The key of the session ``request`` (a parsed body in ``wire``) belongs to."""
    who = credential(headers)
    given = headers.get(SESSION_HEADER)
    if given:
        return f"h:{who}:{given}"
    if wire == "openai-responses":  # The Responses API's system prompt and message list.
        system, items = request.get("instructions"), request.get("input", [])
    else:
        system, items = request.get("system"), request.get("messages", [])
    first = items[:2] if isinstance(items, list) else items
    head = {"wire": wire, "model": request.get("model"), "system": system, "first": first,
            "credential": who}
    return hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode()).hexdigest()
