"""The one command line every backend shares: `python -m backends.NAME [--transport ...]`.

    python -m backends.analytics                       # stdio (the default)
    python -m backends.analytics --transport http --port 8101
    python -m backends.analytics --transport sse --port 8102

Over HTTP a backend binds 127.0.0.1 unless told otherwise, checks Host/Origin (FastMCP ships
that guard off), and serves streamable HTTP at `/mcp` (`/sse` for SSE). `--json-response`
answers requests that need no streaming with plain `application/json`.
"""

from __future__ import annotations

import argparse
import gc
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from fastmcp import FastMCP

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8100
TRANSPORTS = ("stdio", "http", "sse")


def parse_args(name: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the shared backend options; `name` appears in `--help`."""
    parser = argparse.ArgumentParser(
        prog=f"python -m backends.{name}", description=f"Run the {name} MCP server."
    )
    parser.add_argument("--transport", choices=TRANSPORTS, default=os.environ.get("MCP_TRANSPORT", "stdio"))
    parser.add_argument("--host", default=os.environ.get("MCP_HOST", DEFAULT_HOST))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MCP_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="extra Host header value accepted over HTTP (repeatable), e.g. a compose service name",
    )
    parser.add_argument("--json-response", action="store_true", help="answer with application/json, not SSE")
    parser.add_argument("--log-level", default=os.environ.get("MCP_LOG_LEVEL", "warning"))
    return parser.parse_args(argv)


def _warm(server: FastMCP[Any]) -> None:
    """Build now what FastMCP builds on a session's first request, its session-state store (it
    loads py-key-value: a fifth of a second), so that the first client is answered like the tenth."""
    server._state_store  # noqa: B018 - a property that builds the store on first use


def main(name: str, factory: Callable[[], FastMCP[Any]], argv: Sequence[str] | None = None) -> None:
    """Build the server with `factory` and serve it as the command line asks."""
    args = parse_args(name, argv)
    # FastMCP keeps session state in py-key-value, which type-checks its own calls at run time
    # (beartype, warnings only) unless told not to: half of what loading it costs
    os.environ.setdefault("PY_KEY_VALUE_DISABLE_BEARTYPE", "true")
    # Logging to clients is part of what these servers do, in both protocol eras.
    warnings.filterwarnings("ignore", message="The logging capability is deprecated")
    server = factory()
    _warm(server)
    gc.freeze()  # what start-up built lives as long as the process: no collection looks at it again
    # and the young generation is collected every 10,000 allocations, not 700: by then most of a
    # request's objects are gone (a backend under 32 clients spent a quarter of its time in GC)
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    if args.transport == "stdio":
        server.run(transport="stdio", show_banner=False, log_level=args.log_level)
        return
    allowed_hosts = [args.host, f"{args.host}:{args.port}", *args.allowed_host]
    server.run(
        transport=args.transport,
        host=args.host,
        port=args.port,
        show_banner=False,
        log_level=args.log_level,
        json_response=args.json_response or None,
        host_origin_protection=True,
        allowed_hosts=allowed_hosts,
    )
