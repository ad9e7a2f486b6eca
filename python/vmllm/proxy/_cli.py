"""``vmllm proxy`` (serve until interrupted) and ``vmllm run -- COMMAND`` (serve for one
command's lifetime, pointing it at the proxy)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
from typing import Any

from .. import _cli_args as _args
from .._cli_args import UsageError
from .._json_limits import JSON_LIMITS
from ._server import PagingProxy, ProxyLimits

_SECONDS = _args.positive_float(86_400.0)


def _add_options(p: argparse.ArgumentParser) -> None:
    """The options ``vmllm proxy`` and ``vmllm run`` share."""
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="the API to forward to, with or without /v1, e.g. "
                   "https://api.openai.com/v1 or https://api.anthropic.com")
    p.add_argument("--tau", type=_args.turns, default=1, metavar="TURNS",
                   help="age in turns before a tool result is evictable (default 1: with the "
                   "cache gate, the cheapest on the recorded traces; see BENCHMARKS.md)")
    p.add_argument("--s-min", type=_args.byte_count, default=500, metavar="BYTES",
                   help="smallest evictable tool result in bytes (default 500)")
    p.add_argument("--window-tokens", type=_args.tokens_or_zero, default=0, metavar="N",
                   help="context window for pressure levels (default 0: no pressure handling)")
    p.add_argument("--cache-aware", action=argparse.BooleanOptionalAction, default=True,
                   help="evict only what pays for re-writing the provider's cached prompt "
                   "after it (default on)")
    p.add_argument("--schema-idle-turns", type=_args.tokens_or_zero, default=8, metavar="TURNS",
                   help="turns a tool schema goes uncalled before it is stubbed (default 8)")
    p.add_argument("--no-schema-stubs", action="store_true", help="send tool schemas in full")
    p.add_argument("--store", metavar="PATH", default=None,
                   help="store directory for the sessions' pages and state, so they survive a "
                   "restart and proxies on one store share sessions (default: a temporary "
                   "store, removed at exit)")
    p.add_argument("--l2", metavar="URL", default=None,
                   help="'memory' or a Redis URL for the hot tier (default: $REDIS_URL, else "
                   "memory)")
    p.add_argument("--max-sessions", type=_args.int_in(1, 10**7), default=1000, metavar="N",
                   help="sessions held in memory at most (the rest wait in the store; "
                   "default 1000)")
    limits = ProxyLimits()
    for flag, kind, help_text in [
            ("--header-timeout", _SECONDS, "seconds a request's headers may take"),
            ("--body-timeout", _SECONDS, "seconds a request's body may take"),
            ("--idle-timeout", _SECONDS, "seconds a kept-alive connection may stay idle"),
            ("--upstream-connect-timeout", _SECONDS, "seconds to connect to the upstream"),
            ("--upstream-read-timeout", _SECONDS,
             "seconds the upstream may stay silent while answering"),
            ("--upstream-connections", _args.int_in(1, 10_000),
             "pooled connections to the upstream at most"),
            ("--max-body-bytes", _args.int_in(1, JSON_LIMITS["request_body_bytes"]),
             "largest request body (413 past it)"),
            ("--max-session-bytes", _args.positive_bytes,
             "sessions held in memory, by the size of their last request")]:
        name = flag[2:].replace("-", "_")
        default = getattr(limits, name)
        p.add_argument(flag, type=kind, default=default, metavar="N",
                       help=f"{help_text} (default {default:g})")


def _make_proxy(args: Any, host: str, port: int, log: Any = None) -> PagingProxy:
    limits = ProxyLimits(**{f.name: getattr(args, f.name)
                            for f in dataclasses.fields(ProxyLimits) if hasattr(args, f.name)})
    return PagingProxy(args.upstream, host, port, max_sessions=args.max_sessions, log=log,
                       store=args.store, l2=args.l2, limits=limits, tau_turns=args.tau,
                       min_evict_bytes=args.s_min, window_tokens=args.window_tokens,
                       cache_aware=args.cache_aware, stub_unused_tools=not args.no_schema_stubs,
                       schema_idle_turns=args.schema_idle_turns)


def add_parser(sub: Any) -> None:
    """Adds ``vmllm proxy`` and ``vmllm run`` to the command line's subparsers."""
    p = sub.add_parser("proxy", help="run the paging proxy in front of an OpenAI/Anthropic API",
                       description="Page the message stream of an agent: listen for OpenAI "
                       "(/v1/chat/completions, /v1/responses) and Anthropic (/v1/messages) "
                       "requests and forward them upstream with stale tool results paged out. "
                       "/healthz and /metrics (Prometheus text) too.")
    _add_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_args.port, default=8080,
                   help="port to listen on, 0 for any free one (default 8080)")
    p.set_defaults(run=run_cli)
    _add_run_parser(sub)


def _add_run_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a command with the paging proxy in front of its API",
                       description="Start the proxy on a free port of 127.0.0.1, run COMMAND "
                       "with ANTHROPIC_BASE_URL and OPENAI_BASE_URL pointing at it, and stop "
                       "with it, exiting with its exit code.",
                       usage="vmllm run --upstream URL [options] -- COMMAND [ARGS...]")
    _add_options(p)
    p.add_argument("--log", metavar="FILE", default=None,
                   help="append the proxy's access log here (default: none, so the "
                   "command's own output stays clean)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    p.set_defaults(run=run_command)


def run_cli(args: Any) -> int:
    """Runs ``vmllm proxy`` until interrupted."""
    server = _make_proxy(args, args.host, args.port)
    where = f"store {args.store}" if args.store else "a temporary store"
    print(f"vmllm proxy: listening on {server.url}, upstream {args.upstream}, sessions in "
          f"{where}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_command(args: Any) -> int:
    """Runs ``vmllm run``: the command's exit code (128 + N when signal N ended it)."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("vmllm run needs a command after --, e.g. vmllm run --upstream URL "
                         "-- claude")
    with open(args.log or os.devnull, "a", encoding="utf-8") as log:
        with _make_proxy(args, "127.0.0.1", 0, log=log) as proxy:
            env = dict(os.environ, ANTHROPIC_BASE_URL=proxy.url,
                       OPENAI_BASE_URL=proxy.url + "/v1")
            print(f"vmllm run: proxy on {proxy.url}, upstream {args.upstream}",
                  file=sys.stderr, flush=True)
            try:
                child = subprocess.Popen(command, env=env)
            except OSError as exc:
                raise UsageError(f"cannot run {command[0]!r}: {exc.strerror}") from None
            code = _wait_forwarding_signals(child)
    return code if code >= 0 else 128 - code


def _wait_forwarding_signals(child: subprocess.Popen[bytes]) -> int:
    """Waits for ``child``, passing on SIGINT and SIGTERM. A Ctrl-C typed at the terminal
    already reaches the child (same foreground process group), so SIGINT is passed on only
    when this process is not in the terminal's foreground."""

    def forward(signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT and _in_terminal_foreground():
            return
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _in_terminal_foreground() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False
