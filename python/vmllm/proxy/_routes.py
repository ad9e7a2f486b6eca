"""Which requests the proxy pages, in which wire format, and where upstream they go.

The upstream host comes only from configuration: a request target must be origin-form
(``/path?query``); absolute-form (``GET http://169.254.169.254/...``), authority-form (CONNECT)
and asterisk-form targets are refused before anything is forwarded.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from ..errors import InvalidArgumentError

# The API paths relative to the API root; a client may send them with or without ``/v1``.
_PAGED = {"/chat/completions": "openai", "/messages": "anthropic",
          "/responses": "openai-responses"}
_COUNT_TOKENS = "/messages/count_tokens"

PAGED = "paged"
COUNT_TOKENS = "count_tokens"
PASSTHROUGH = "passthrough"


@dataclasses.dataclass(frozen=True)
class Route:
    """What to do with one request: ``kind`` is PAGED, COUNT_TOKENS or PASSTHROUGH; ``wire``
    the wire format of a paged or counted body ("" for a passthrough); ``target`` the path and
    query to request upstream; ``label`` a bounded metrics label (never a client's path)."""

    kind: str
    wire: str
    target: str
    label: str


class UpstreamURL:
    """The configured API: scheme, host and port, and the path prefix in front of ``/v1``.

    ``https://api.openai.com/v1`` and ``https://api.openai.com`` are the same API: a trailing
    ``/v1`` is the API root's, so a request for ``/v1/chat/completions`` never becomes
    ``/v1/v1/chat/completions``. A prefix before it stays (``https://host/api/v1`` → ``/api``).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgumentError(f"upstream must be an http(s) URL, got {url!r}")
        if parts.query or parts.fragment:
            raise InvalidArgumentError(f"upstream must not have a query or fragment: {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise InvalidArgumentError(f"upstream has a bad port: {url!r}") from None
        prefix = parts.path.rstrip("/")
        if prefix.endswith("/v1"):
            prefix = prefix[:-3]
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.prefix = prefix
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        self.origin = f"{self.scheme}://{netloc}:{self.port}"

    def url(self, target: str) -> str:
        """The upstream URL for an origin-form ``target`` (already normalised by route())."""
        return self.origin + self.prefix + target


def is_origin_form(raw_target: str) -> bool:
    """True for ``/path?query``; False for ``http://host/...``, ``host:443`` and ``*``."""
    return raw_target.startswith("/") and not raw_target.startswith("//")


def route(method: str, raw_target: str) -> Route:
    """The route of an origin-form request target (path and raw query, as received)."""
    path, sep, query = raw_target.partition("?")
    api_path = path[3:] if path.startswith("/v1/") else path
    tail = sep + query
    if method == "POST" and api_path in _PAGED:
        wire = _PAGED[api_path]
        return Route(PAGED, wire, "/v1" + api_path + tail, wire)
    if method == "POST" and api_path == _COUNT_TOKENS:
        return Route(COUNT_TOKENS, "anthropic", "/v1" + api_path + tail, COUNT_TOKENS)
    return Route(PASSTHROUGH, "", raw_target, PASSTHROUGH)
