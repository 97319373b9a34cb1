"""Chaos: many clients against a backend that misbehaves, through a real gateway process.

    python -m bench.chaos [--clients 50] [--seconds 120] [--kill-every 20] [--quick]

The backend (tests.fakes.faulty) answers 10% of calls 2 s late and 10% with 503, and is killed
and restarted every `--kill-every` seconds. Each client calls `work(tag)` with a unique tag, a
tool with a side effect that the backend records in a ledger that survives its restarts. At the
end the script compares what clients were told with what the backend did:

- lost: a client was told the call succeeded but the backend never ran it (must be 0)
- duplicated: the backend ran a call more than once (must be 0)
- hung: a call got no answer within its deadline plus a margin (must be 0)
- untold: the backend ran it but the client was told it failed (allowed: "outcome unknown" is
  an honest answer when the backend died mid-call; reported)
- retries: the gateway's retries as a share of calls (must be <= 20%)
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from fastmcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import PYTHON, free_port
from tests.e2e.support import Proc, gateway_command, running, wait_for_http

DEADLINE = 8.0
MARGIN = 5.0


async def client_loop(url: str, index: int, stop_at: float, outcomes: dict[str, str]) -> None:
    sequence = 0
    mode = "legacy" if index % 2 else "2026-07-28"
    while time.monotonic() < stop_at:
        try:
            async with Client(url, mode=mode, timeout=DEADLINE + MARGIN) as client:
                while time.monotonic() < stop_at:
                    tag = f"c{index}-{sequence}"
                    sequence += 1
                    try:
                        result = await client.call_tool_mcp("f_work", {"tag": tag})
                        outcomes[tag] = "error" if result.is_error else "ok"
                    except MCPError as error:
                        outcomes[tag] = "hung" if "timed out" in error.error.message else "error"
        except Exception:  # the gateway itself is never restarted; reconnect on any client-side trouble
            await anyio.sleep(0.1)


def start_backend(port: int, ledger: Path, log: Path, chaos: dict[str, float]) -> Proc:
    proc = Proc(
        [PYTHON, "-m", "tests.fakes.faulty", "--port", str(port)], log=log, env={"FAULTY_LEDGER": str(ledger)}
    )
    wait_for_http(proc, f"http://127.0.0.1:{port}/_counters")
    httpx2.post(f"http://127.0.0.1:{port}/_chaos", json=chaos).raise_for_status()
    return proc


async def chaos(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    backend_port, gateway_port = free_port(), free_port()
    ledger = work / "ledger.txt"
    ledger.touch()
    config = work / "gateway.yaml"
    config.write_text(
        f"""
backends:
  f:
    url: http://127.0.0.1:{backend_port}/mcp
    request_timeout: 5s
    deadline: {DEADLINE}s
    max_sessions: 64
    retry: {{attempts: 2, rejected_means_not_run: true}}
    circuit_breaker: {{consecutive_failures: 20, base_ejection: 1s, max_ejection: 3s}}
    health: {{interval: 1s, timeout: 1s, unhealthy_threshold: 3}}
    unavailable_grace: 60s
"""
    )
    chaos_settings = {"delay_p": 0.1, "delay_ms": 2000, "p503": 0.1}
    backend = start_backend(backend_port, ledger, work / "backend-0.log", chaos_settings)
    outcomes: dict[str, str] = {}
    kills = 0
    try:
        with running(
            gateway_command(config, "run", "--port", str(gateway_port), "--log-level", "warning"),
            log=work / "gateway.log",
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ):
            url = f"http://127.0.0.1:{gateway_port}/mcp"
            stop_at = time.monotonic() + args.seconds
            async with anyio.create_task_group() as group:
                for index in range(args.clients):
                    group.start_soon(client_loop, url, index, stop_at, outcomes)
                while time.monotonic() < stop_at - args.kill_every / 2:
                    await anyio.sleep(args.kill_every)
                    backend.kill()
                    kills += 1
                    backend = start_backend(
                        backend_port, ledger, work / f"backend-{kills}.log", chaos_settings
                    )
            readiness = httpx2.get(f"http://127.0.0.1:{gateway_port}/readyz").json()
    finally:
        backend.stop()
    ran = collections.Counter(line for line in ledger.read_text().splitlines() if line)
    stats = readiness["backends"]["f"]["stats"]
    told_ok = {tag for tag, outcome in outcomes.items() if outcome == "ok"}
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "kills": kills,
        "calls": len(outcomes),
        "ok": len(told_ok),
        "errors": sum(1 for o in outcomes.values() if o == "error"),
        "lost": len([t for t in told_ok if ran[t] == 0]),
        "duplicated": len([t for t, n in ran.items() if n > 1]),
        "hung": sum(1 for o in outcomes.values() if o == "hung"),
        "untold": len([t for t, o in outcomes.items() if o == "error" and ran[t] > 0]),
        "gateway_requests": stats["requests"],
        "retries": stats["retries"],
        "retry_share": round(stats["retries"] / max(1, stats["requests"]), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-every", type=float, default=20)
    parser.add_argument(
        "--quick", action="store_true", help="10 clients, 12 s, one kill: proves the script runs"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.kill_every = 10, 12.0, 6.0
    with tempfile.TemporaryDirectory() as tmp:
        report = anyio.run(chaos, args, Path(tmp))
    print(json.dumps(report, indent=2))
    healthy = report["lost"] == 0 and report["duplicated"] == 0 and report["hung"] == 0
    return 0 if healthy and report["retry_share"] <= 0.20 else 1


if __name__ == "__main__":
    sys.exit(main())
