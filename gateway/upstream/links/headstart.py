"""Head starts: a stdio backend's process started before the gateway that will talk to it.

A one-off `gateway call` waits for the gateway to import and for its backend to start, each an
interpreter loading FastMCP (over a second apiece). Started first (`head_starts`), the backend
starts while the gateway imports, and the first session to it takes the running process
(`take`) instead of starting another. The process is started as `StdioLink` starts one, from
the same `Launch` (command, arguments, directory and environment of the config; its own process
group; stderr to the gateway's), and ends as the SDK's `stdio_client` ends its own: stdin
closed, a grace period, then its process group terminated, then killed. A head start no session
took ends when `head_starts` exits.

This module imports neither the SDK nor FastMCP before a session takes a process: it runs
while they are still loading.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from gateway.config import BackendConfig

PYTHON_ALIASES = frozenset({"python", "python3"})
NAMESPACE_ENV = "MCP_TOOL_PREFIX"
INHERITED_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
"""What a child inherits of the gateway's environment: the SDK's POSIX set
(`mcp.client.stdio.DEFAULT_INHERITED_ENV_VARS`; a test keeps the two equal)."""
GRACE = 2.0
"""Seconds a backend has to exit once its stdin is closed, and again once it is terminated."""

_waiting: dict[Launch, Process] = {}


@dataclass(frozen=True)
class Launch:
    """How a stdio backend's process is started, from its config only."""

    program: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    """The backend's own variables, on top of the few inherited (`environment`)."""
    cwd: str

    def environment(self) -> dict[str, str]:
        """The child's whole environment."""
        inherited = {
            key: value
            for key in INHERITED_ENV
            if (value := os.environ.get(key)) is not None and not value.startswith("()")
        }
        return inherited | dict(self.env)


def launch_for(config: BackendConfig, *, base_dir: Path, namespace: str) -> Launch:
    """How the process of a stdio backend (`config.command`) starts: a leading `python` is the
    gateway's own interpreter; the backend hears its namespace in `MCP_TOOL_PREFIX`."""
    assert config.command is not None
    program, *args = config.command
    if program in PYTHON_ALIASES:
        program = sys.executable
    env = {NAMESPACE_ENV: f"{namespace}_" if namespace else ""}
    env.update(config.env)
    cwd = base_dir / config.cwd if config.cwd else base_dir
    return Launch(program, tuple(args), tuple(env.items()), str(cwd))


@asynccontextmanager
async def head_starts(launches: Iterable[Launch]) -> AsyncIterator[None]:
    """Start a process for each of `launches` now; on exit, end those no session took."""
    for launch in launches:
        if launch in _waiting:
            continue
        try:
            _waiting[launch] = await anyio.open_process(
                [launch.program, *launch.args],
                env=launch.environment(),
                cwd=launch.cwd,
                stderr=sys.__stderr__ if sys.__stderr__ is not None else sys.stderr,
                start_new_session=True,
            )
        except (OSError, ValueError):
            continue  # no head start: the link starts it as usual, and reports why it cannot
    try:
        yield
    finally:
        unused = [_waiting.pop(launch) for launch in list(_waiting)]
        with anyio.CancelScope(shield=True):
            for process in unused:
                await end(process)


def take(launch: Launch) -> Process | None:
    """The head-started process for `launch`, if one is waiting (each is taken once)."""
    return _waiting.pop(launch, None)


@asynccontextmanager
async def adopt(process: Process) -> AsyncIterator[tuple[Any, Any]]:
    """MCP message streams over a running process's stdin and stdout, as `stdio_client`
    yields them; the process ends when the streams do."""
    from mcp.shared.message import SessionMessage
    from mcp.types import jsonrpc_message_adapter

    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    to_session, from_process = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    to_process, from_session = anyio.create_memory_object_stream[SessionMessage](0)

    async def read() -> None:  # every line, until the process closes stdout (kept draining)
        buffer, listening = b"", True
        with suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            while True:
                *lines, buffer = (buffer + await stdout.receive()).split(b"\n")
                for line in filter(bytes.strip, lines):
                    try:
                        message: SessionMessage | Exception = SessionMessage(
                            jsonrpc_message_adapter.validate_json(line, by_name=False)
                        )
                    except ValueError as error:
                        message = error
                    if listening:
                        try:
                            await to_session.send(message)
                        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                            listening = False
        await to_session.aclose()

    async def write() -> None:
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            async for item in from_session:
                text = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                await stdin.send(text.encode() + b"\n")
        await to_session.aclose()  # the process cannot hear us: the session must not wait

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        group.start_soon(write)
        try:
            yield from_process, to_process
        finally:
            with anyio.CancelScope(shield=True):
                to_process.close()
                from_process.close()
                await end(process)
            group.cancel_scope.cancel()


async def end(process: Process) -> None:
    """Close stdin, wait out the grace period, then terminate the process group, then kill it."""
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        if process.stdin is not None:
            await process.stdin.aclose()
    for stop in (None, signal.SIGTERM, signal.SIGKILL):
        if stop is not None:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, stop)
        with anyio.move_on_after(GRACE):
            await process.wait()
            return
