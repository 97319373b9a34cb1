"""The `gateway` command: run | check | lock | list | call | schema.

    gateway run   [--config PATH] [--transport http|stdio|sse] [--host H] [--port P]
    gateway check [--config PATH]        validate the file, probe every backend; exit 0 if all is well
    gateway lock  [--config PATH] [--output PATH]   digest every backend's definitions (gateway.lock)
    gateway list  [--config PATH] [--json] [--budget]   --budget: tools/list tokens per view
    gateway call  TOOL [--args JSON] [--config PATH]
    gateway schema [--output PATH]       the JSON Schema of gateway.yaml

Defaults come from `GATEWAY_*` variables (see `gateway.config.settings`): `./gateway.yaml`,
HTTP on 127.0.0.1:8000.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from gateway.commands.call import call
from gateway.config import LoadedConfig, ProcessSettings, load_config
from gateway.config.schema import write_schema
from gateway.errors import ConfigError
from gateway.observability.logs import configure as configure_logging

if TYPE_CHECKING:
    from gateway.app import Gateway
    from gateway.front.serve import Transport

# The gateway itself is imported by the commands that build one: `gateway call` starts its
# backends before it does (`gateway.commands.call`).

YOUNG_GENERATION_THRESHOLD = 10_000
EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_CONFIG = 2


def run() -> None:
    """The `gateway` console script: `main`, then exit with its status."""
    status = main()
    # Leave what was built to the end of the process: a last collection of every object the
    # gateway made costs half a second, after all the work is done.
    gc.freeze()
    raise SystemExit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gateway` command; returns the exit status."""
    # FastMCP keeps session state in py-key-value, which type-checks its own calls at run time
    # (beartype, warnings only) unless told not to: half of what loading it costs
    os.environ.setdefault("PY_KEY_VALUE_DISABLE_BEARTYPE", "true")
    settings = ProcessSettings()
    args = _parser(settings).parse_args(argv)
    configure_logging(
        getattr(args, "log_level", settings.log_level), getattr(args, "log_format", settings.log_format)
    )
    if args.command == "schema":
        return write_schema(args.output)
    try:
        loaded = load_config(args.config)
        if args.command == "call":
            return _call(args, loaded)
        from gateway.app import Gateway

        return _command(args, Gateway(loaded))
    except Exception as error:
        # a backend that cannot be built (a `module:` that does not import, an OpenAPI document
        # that is not there) is found at startup: report it like any other config problem
        found = _config_error(error)
        if found is None:
            raise
        for problem in found.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return EXIT_CONFIG


async def serve(gateway: Gateway, *, transport: Transport, host: str, port: int, log_level: str) -> None:
    """Serve until interrupted (HTTP and SSE drain calls in flight first), reloading the config
    file on SIGHUP and when it changes."""
    from gateway.front.serve import serve_http, serve_stdio

    gateway.fleet.warm_sessions = True  # clients will come: their first call waits for no process
    async with anyio.create_task_group() as group:
        group.start_soon(_settle, gateway)
        if gateway.config_path is not None:
            group.start_soon(_watch, gateway, gateway.config_path)
        if transport == "stdio":
            await serve_stdio(gateway.server, log_level=log_level)
        else:
            app = gateway.http_app(transport=transport, host=host, port=port)
            drain_timeout = gateway.config.gateway.drain_timeout
            await serve_http(
                app,
                host=host,
                port=port,
                log_level=log_level,
                drain=gateway.drain,
                drain_timeout=drain_timeout,
                front=gateway.config.http,
            )
        group.cancel_scope.cancel()


async def _settle(gateway: Gateway) -> None:
    """Once the gateway has started, leave what it built out of every later garbage collection
    (imports, config and catalogs live as long as the process), and collect the young generation
    every 10,000 allocations instead of 700: by then most of a request's objects are gone, so
    collecting costs a fraction (under 32 clients: 4 ms of GC in 5 s instead of 91 ms)."""
    await gateway.wait_started()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


async def _watch(gateway: Gateway, path: Path) -> None:
    from gateway.reload import Reloader

    await gateway.wait_started()
    await Reloader(gateway, path).watch()


def _command(args: argparse.Namespace, gateway: Gateway) -> int:
    from gateway.commands.budget import budget_report
    from gateway.commands.lock import lock_problems, write_lock
    from gateway.commands.probe import check, listing
    from gateway.observability.tracing import setup_from_environment as setup_tracing

    if args.command == "run":
        setup_tracing()
        anyio.run(
            lambda: serve(
                gateway, transport=args.transport, host=args.host, port=args.port, log_level=args.log_level
            ),
            backend_options={"use_uvloop": find_spec("uvloop") is not None},  # made for serving
        )
        return EXIT_OK
    if args.command == "check":
        problems = anyio.run(check, gateway)
        problems += lock_problems(gateway)
        for line in problems:
            print(line)
        if not problems:
            print(f"{args.config}: ok ({len(gateway.backends)} backends)")
        return EXIT_PROBLEMS if problems else EXIT_OK
    if args.command == "lock":
        written, lines = anyio.run(write_lock, gateway, args.output)
        print("\n".join(lines))
        return EXIT_OK if written else EXIT_PROBLEMS
    # list (call and schema are answered before a gateway is built)
    text = anyio.run(budget_report if args.budget else listing, gateway, args.json)
    print(text)
    return EXIT_OK


def _call(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    arguments = _arguments(args.args)
    if arguments is None:
        print("--args must be a JSON object, e.g. --args '{\"values\": [1, 2]}'", file=sys.stderr)
        return EXIT_CONFIG
    ok, text = call(loaded, args.tool, arguments)
    print(text)
    return EXIT_OK if ok else EXIT_PROBLEMS


def _parser(settings: ProcessSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="One MCP endpoint in front of many MCP servers."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=settings.config, help="path to gateway.yaml (env GATEWAY_CONFIG)")
        p.add_argument(
            "--log-level", default=settings.log_level, choices=["debug", "info", "warning", "error"]
        )
        p.add_argument(
            "--log-format",
            default=settings.log_format,
            choices=["text", "json"],
            help="env GATEWAY_LOG_FORMAT",
        )
        return p

    run = with_config(commands.add_parser("run", help="serve the gateway"))
    run.add_argument("--transport", choices=["http", "stdio", "sse"], default=settings.transport)
    run.add_argument("--host", default=settings.host)
    run.add_argument("--port", type=int, default=settings.port)
    with_config(commands.add_parser("check", help="validate the config and probe every backend"))
    lock = with_config(commands.add_parser("lock", help="digest every backend's definitions"))
    lock.add_argument("--output", default=None, help="default: gateway.lockfile, beside the config")
    list_cmd = with_config(commands.add_parser("list", help="what a client would see"))
    list_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    list_cmd.add_argument(
        "--budget", action="store_true", help="estimated tokens of each view's tools/list, and search mode"
    )
    call = with_config(commands.add_parser("call", help="call one tool"))
    call.add_argument("tool")
    call.add_argument("--args", default="{}", help="tool arguments as a JSON object")
    schema = commands.add_parser("schema", help="print the JSON Schema of gateway.yaml")
    schema.add_argument("--output", default="-", help="file to write ('-': stdout)")
    return parser


def _config_error(error: BaseException) -> ConfigError | None:
    """The `ConfigError` behind `error` (raised inside a task group or a client's connect)."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConfigError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None


def _arguments(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
