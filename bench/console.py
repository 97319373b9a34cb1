"""Does an open console cost proxied calls anything? `python -m bench.console [--rounds N]`

One gateway in front of the benchmark backend; 32 lean clients call its echo tool for a few
seconds with no console open, then with a console open, alternating `rounds` times (the same
process, the same clients). "Open" is what a browser on the live-calls page does: it takes its
lease (`/ui/api/me`), which makes the gateway record every call for the page, and fetches the
calls recorded since its last look each second. The figures are calls/s and gateway CPU per call
(all the gateway's CPU, the console's answers included), the open rounds as a ratio of the
closed ones.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
from pathlib import Path

import anyio
import httpx2

from bench import measure
from bench.lean import MODERN
from bench.topology import Server, backend, gateway, http_config


async def _console_open(base: str, stop: anyio.Event) -> None:
    """What an open console on the live-calls page asks of the gateway, until `stop`: its lease
    (`me`) at start, then each second the calls recorded since the last it saw (as the page does)."""
    async with httpx2.AsyncClient(base_url=f"{base}/ui/api/", timeout=10) as ui:
        (await ui.get("me")).raise_for_status()
        after = 0
        while not stop.is_set():
            answer = (await ui.get("calls", params={"after": after})).json()
            if answer["calls"]:
                after = answer["calls"][-1]["seq"]
            with anyio.move_on_after(1):
                await stop.wait()


async def _round(server: Server, tool: str, *, open_console: bool, seconds: float) -> measure.Throughput:
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        if open_console:
            group.start_soon(_console_open, server.url.rsplit("/", 1)[0], stop)
        result = await measure.throughput(
            server.url,
            tool,
            {"text": "hello"},
            kind="lean",
            era=MODERN,
            clients=32,
            seconds=seconds,
            watch=server,
        )
        stop.set()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with backend(work) as echo, gateway(work, http_config({"bench": echo.url})) as server:
            tool = anyio.run(measure.tool_named, server.url, "echo")
            figures: dict[bool, list[measure.Throughput]] = {False: [], True: []}
            for _ in range(args.rounds):
                for open_console in (False, True):
                    run = functools.partial(
                        _round, server, tool, open_console=open_console, seconds=args.seconds
                    )
                    figures[open_console].append(anyio.run(run))
    for open_console, runs in figures.items():
        rate = statistics.median(r.per_second for r in runs)
        cpu = statistics.median(r.cpu_ms_per_call or 0 for r in runs)
        errors = sum(r.errors for r in runs)
        label = "open  " if open_console else "closed"
        print(f"console {label}: {rate:7.0f} calls/s, {cpu:.2f} ms CPU/call, {errors} errors")
    closed, opened = (statistics.median(r.per_second for r in figures[o]) for o in (False, True))
    print(f"open/closed calls/s: {opened / closed:.2f}x ({args.rounds} rounds of {args.seconds:g} s each)")


if __name__ == "__main__":
    main()
