"""``vmllm mcp``: a vmllm store served to MCP clients (Claude Desktop, Claude Code, Cursor...).

Tools let an agent search the store, page a page into its context window (L1), resolve a page
fault described in words, ingest text and read the counters; resources expose pages, the
store's documents, the L1 context and the statistics for an MCP client application to read.

The MCP Python SDK (``pip install 'vmllm[mcp]'``, mcp 2.x) is imported only when a server is
built, so ``import vmllm`` never needs it.

No ``from __future__ import annotations`` here: the SDK builds each tool's input schema from
its signature, and the tools are closures whose annotations name objects imported lazily, so
they must be evaluated where they are defined.
"""

import argparse
import ipaddress
import sys
from collections import Counter
from typing import Any, Dict, List, Optional

from .errors import VmllmError
from .virtual_memory import VirtualMemory

__all__ = ["build_server", "serve", "run_cli", "MissingSDKError"]

#: Largest ``n`` of the search tool: an agent reads previews, not a ranking of the store.
MAX_SEARCH_RESULTS = 50
#: Largest ``n`` of the recall tool: each page comes back in full, so keep it small.
MAX_RECALL_PAGES = 20
#: Characters of a page shown in a search preview.
PREVIEW_CHARS = 200
#: Default and largest total characters of page text that one recall returns.
RECALL_CHARS = 24_000
MAX_RECALL_CHARS = 400_000
#: Largest text one ingest call accepts (characters); bigger documents: ``vmllm ingest``.
MAX_INGEST_CHARS = 16 << 20
MAX_ID_CHARS = 1024
MAX_QUERY_CHARS = 8192
DEFAULT_PORT = 8000
_INSTALL_HINT = "pip install 'vmllm[mcp]'"


class MissingSDKError(ImportError):
    """The MCP Python SDK (2.x) is not installed."""


def _import_sdk() -> Any:
    try:
        import mcp.server.mcpserver as sdk  # MCPServer is mcp 2.x; mcp 1.x lacks the module.
    except ImportError as exc:
        raise MissingSDKError(
            f"vmllm mcp needs the MCP Python SDK 2.x (Python >= 3.10): {_INSTALL_HINT} "
            f"({exc})") from exc
    return sdk


def _tool_error(exc: BaseException) -> Exception:
    """A vmllm error as an MCP tool error: the call returns isError, the server keeps going."""
    from mcp.server.mcpserver.exceptions import ToolError
    return ToolError(f"{type(exc).__name__}: {exc}")


def build_server(vm: VirtualMemory, name: str = "vmllm") -> Any:
    """An ``MCPServer`` whose tools and resources page ``vm``'s store. ``vm`` stays the
    caller's: the server never closes it."""
    sdk = _import_sdk()
    from typing import Annotated, Literal

    from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
    from mcp.types import ToolAnnotations
    from pydantic import Field
    from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12.

    # Typed results give each tool an output schema and structured content.
    class SearchHit(TypedDict):
        page_id: str
        doc_id: str
        score: float
        tokens: int
        preview: str

    class SearchResult(TypedDict):
        query: str
        mode: str
        results: List[SearchHit]

    class IngestResult(TypedDict):
        doc_id: str
        page_ids: List[str]

    class ReleaseResult(TypedDict):
        page_id: str
        released: bool

    from . import __version__

    server = sdk.MCPServer(
        name,
        version=__version__,
        instructions=(
            "vmllm pages a large store of text in and out of your context window like virtual "
            "memory. Use `search` to find page ids, `page` to read one in full, `recall` to "
            "bring in the pages that answer a question, `ingest` to store new text."),
        # Arguments and results are the user's data: the SDK logs failures at INFO, keep them
        # out of the log unless asked.
        log_level="WARNING",
    )

    PageId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS,
                                  description="A page id, e.g. 'notes::chunk_0000'.")]
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    def search(
        query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS,
                                    description="What to look for, in words.")],
        n: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS,
                                description="How many pages to return.")] = 5,
        mode: Literal["hybrid", "vector", "keyword"] = "hybrid",
    ) -> SearchResult:
        """Search the vmllm store for the pages that best match `query`, best first.

        Returns page ids with scores (higher is better) and a short preview of each page.
        Nothing is paged in: follow up with `page` for the pages you need."""
        try:
            hits = vm.search(query, n=n, mode=mode)
            results = []
            for page_id, score in hits:
                entry = vm.page_table[page_id]
                text = vm.read_page(page_id)
                preview = text[:PREVIEW_CHARS] + ("..." if len(text) > PREVIEW_CHARS else "")
                results.append({"page_id": page_id, "doc_id": entry.doc_id, "score": score,
                                "tokens": entry.tokens, "preview": preview})
        except (VmllmError, KeyError) as exc:
            raise _tool_error(exc) from exc
        return {"query": query, "mode": mode, "results": results}

    @server.tool(structured_output=False)
    def page(page_id: PageId) -> str:
        """Read one page of the vmllm store in full, by page id (from `search` or `recall`).

        This pages it into the agent's L1 (vmllm's context window): a page fault if it was
        not resident, which may evict the least useful resident page (its text stays in the
        store and can be paged in again)."""
        try:
            return vm.request_page(page_id, full=True)
        except (VmllmError, KeyError) as exc:
            raise _tool_error(exc) from exc

    @server.tool(structured_output=False)
    def recall(
        description: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS,
                                          description="What you need to know, in words.")],
        n: Annotated[int, Field(ge=1, le=MAX_RECALL_PAGES,
                                description="Most pages to bring in.")] = 3,
        max_chars: Annotated[int, Field(ge=1, le=MAX_RECALL_CHARS,
                                        description="Most characters of page text returned "
                                                    "in all.")] = RECALL_CHARS,
    ) -> Dict[str, Any]:
        """Resolve a page fault described in words: find the best `n` pages of the vmllm
        store and page them into the agent's L1, returning their text, best first.

        Bounded: at most `n` pages and `max_chars` characters of text in all (a page past
        the budget is cut, even to nothing, and marked truncated; read it whole with `page`);
        stops early when L1 is full."""
        try:
            resident = vm.fault(description, n=n)
            pages = []
            budget = max_chars
            for page_id in resident:
                # An L1 hit now: what L1 holds (the summary, if the page came back compressed).
                text = vm.request_page(page_id)
                # Past the budget a page is still listed (it is in L1 now), with no text.
                cut = text[:budget]
                budget -= len(cut)
                pages.append({"page_id": page_id, "text": cut, "truncated": len(cut) < len(text)})
        except (VmllmError, KeyError) as exc:
            raise _tool_error(exc) from exc
        return {"description": description, "pages": pages,
                "l1_tokens": vm.context_token_count()}

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, idempotent_hint=True,
                                             open_world_hint=False))
    def ingest(
        doc_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS,
                                     description="The document's id; an existing document "
                                                 "with this id is replaced.")],
        text: Annotated[str, Field(max_length=MAX_INGEST_CHARS,
                                   description="The document's text.")],
    ) -> IngestResult:
        """Store a document in the vmllm store: cut it into pages, index them for search.

        Returns the new page ids in order. Ingesting an existing `doc_id` replaces it."""
        try:
            page_ids = vm.ingest(doc_id, text)
        except (VmllmError, KeyError) as exc:
            raise _tool_error(exc) from exc
        return {"doc_id": doc_id, "page_ids": page_ids}

    @server.tool(annotations=ToolAnnotations(destructive_hint=False, idempotent_hint=True,
                                             open_world_hint=False))
    def release(page_id: PageId) -> ReleaseResult:
        """Page one page out of the agent's L1 to make room (compressed; never lost: `page`
        brings it back in full). `released` is false when it was not in L1."""
        try:
            released = vm.release_page(page_id)
        except (VmllmError, KeyError) as exc:
            raise _tool_error(exc) from exc
        return {"page_id": page_id, "released": released}

    # Unstructured (JSON text): the counters are many and nested, and grow with the core.
    @server.tool(annotations=read_only, structured_output=False)
    def stats() -> Dict[str, Any]:
        """Counters and occupancy of the vmllm store: pages, tokens and hits per tier
        (L1 context, L2 hot cache, L3 searchable swap, L4 disk), faults, evictions, the L1
        budget and the pages now in L1."""
        try:
            result = vm.stats()
            result["active_pages"] = vm.active_pages()
        except VmllmError as exc:
            raise _tool_error(exc) from exc
        return result

    # --- resources: read-only views for the client application (nothing is paged in) -------

    # A page id is a key of the store, never a file path, so the SDK's path checks (which
    # would refuse a doc id such as "../notes") do not apply; "+" lets ids contain "/".
    @server.resource("vmllm://page/{+page_id}", name="page", mime_type="text/plain",
                     security=sdk.ResourceSecurity(exempt_params={"page_id"}))
    def page_resource(page_id: str) -> str:
        """The original text of one page, read from disk without paging it into L1."""
        try:
            return vm.read_page(page_id)
        except KeyError as exc:
            raise ResourceNotFoundError(f"no page {page_id!r} in the store") from exc
        except VmllmError as exc:
            raise ResourceError(f"{type(exc).__name__}: {exc}") from exc

    @server.resource("vmllm://stats", name="stats", mime_type="application/json")
    def stats_resource() -> Dict[str, Any]:
        """Counters and per-tier occupancy of the store (as the `stats` tool)."""
        return vm.stats()

    @server.resource("vmllm://documents", name="documents", mime_type="application/json")
    def documents_resource() -> Dict[str, Any]:
        """The store's documents and how many pages each has."""
        counts = Counter(entry.doc_id for entry in vm.page_table.values())
        return {"documents": [{"doc_id": d, "pages": c} for d, c in sorted(counts.items())]}

    @server.resource("vmllm://context", name="context", mime_type="text/plain")
    def context_resource() -> str:
        """What L1 holds now, as prompt text (`=== [page_id] ===` sections)."""
        return vm.build_context()

    return server


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(store: str, *, http: bool = False, host: Optional[str] = None,
          port: Optional[int] = None, l1_tokens: int = 6000, page_tokens: int = 2000) -> None:
    """Serve the store at ``store`` over stdio, or over streamable HTTP at
    ``http://host:port/mcp`` (127.0.0.1 unless ``host`` says otherwise) until stopped."""
    _import_sdk()  # Fail before opening the store.
    with VirtualMemory(store, l1_tokens=l1_tokens, page_tokens=page_tokens) as vm:
        server = build_server(vm)
        if not http:
            server.run("stdio")
            return
        host = host or "127.0.0.1"
        port = DEFAULT_PORT if port is None else port
        if not _is_loopback(host):
            print(f"vmllm mcp: warning: listening on {host}, beyond this machine, with no "
                  "authentication: anyone who can reach it can read and write the store",
                  file=sys.stderr)
        # stderr: stdout may be a pipe that nobody reads.
        print(f"vmllm mcp: serving {vm.path} on http://{host}:{port}/mcp", file=sys.stderr,
              flush=True)
        server.run("streamable-http", host=host, port=port)


def run_cli(args: argparse.Namespace) -> int:
    """``vmllm mcp``: the command line's entry point."""
    if not args.http and (args.host is not None or args.port is not None):
        print("vmllm mcp: --host and --port need --http", file=sys.stderr)
        return 2
    if args.port is not None and not 0 < args.port < 65536:
        print(f"vmllm mcp: --port must be from 1 to 65535, not {args.port}", file=sys.stderr)
        return 2
    try:
        serve(args.store, http=args.http, host=args.host, port=args.port,
              l1_tokens=args.l1_tokens, page_tokens=args.page_tokens)
    except MissingSDKError as exc:
        print(f"vmllm: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
