"""The naive baseline: FastMCP's stock `create_proxy` in front of the same backends.

python -m bench.stock_proxy --port 8400 --backend bench=http://127.0.0.1:8301/mcp [...]
"""

from __future__ import annotations

import argparse
import sys

from fastmcp.server import create_proxy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock_proxy")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", default=[], help="name=url (repeatable)")
    args = parser.parse_args(argv)
    servers = {}
    for spec in args.backend:
        name, _, url = spec.partition("=")
        servers[name] = {"url": url, "transport": "http"}
    proxy = create_proxy({"mcpServers": servers}, name="stock-proxy")
    # FastMCP asks uvicorn for websockets support by default; nothing here serves websockets, and
    # the gateway's install does not carry the `websockets` package
    proxy.run(
        transport="http", host="127.0.0.1", port=args.port, show_banner=False, log_level="warning",
        uvicorn_config={"ws": "none"},
    )  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
