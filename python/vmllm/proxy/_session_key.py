"""Which session a request belongs to.

A session belongs to one credential: its key always includes a hash of the caller's API key
(``Authorization``, ``x-api-key`` or ``api-key``; the key itself is never kept), so two callers
never share stubs, recalls, compactions or pins, even under the same ``X-Vmllm-Session`` name
or the same conversation opening. Without that header a session is named by its wire format,
model, system prompt and first two messages, as the client sent their bytes (read natively,
without parsing the body): what stays the same while a conversation grows.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

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


def session_key(wire: str, identity: bytes, headers: Mapping[str, str]) -> str:
    """The key of the session a request belongs to; ``identity`` is what names its conversation
    (``_core.request_head``: the bytes of its model, system text and first two items)."""
    who = credential(headers)
    given = headers.get(SESSION_HEADER)
    if given:
        return f"h:{who}:{given}"
    digest = hashlib.sha256(f"{wire}\0{who}\0".encode())
    digest.update(identity)
    return digest.hexdigest()
