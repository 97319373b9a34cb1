"""The processes a benchmark runs: the backend, our gateway, the stock proxy; their CPU and memory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import Proc, gateway_command, running

TICKS = os.sysconf("SC_CLK_TCK")
__all__ = [
    "PYTHON", "ROOT", "Server", "backend", "backend_requests", "gateway", "http_config", "mcp_proxy",
    "mcp_proxy_version", "stdio_config", "stock_proxy",
]  # fmt: skip


@dataclass
class Server:
    """A running server: its MCP URL and its process."""

    url: str
    proc: Proc

    @property
    def pid(self) -> int:
        return self.proc.popen.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mb(self) -> float:
        """Resident memory now, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@contextmanager
def backend(work: Path, *, json_response: bool = False) -> Iterator[Server]:
    """The benchmark backend over streamable HTTP."""
    port = free_port()
    args = [PYTHON, "-m", "bench.backend", "--transport", "http", "--port", str(port)]
    if json_response:
        args.append("--json-response")
    with running(args, log=work / f"backend-{port}.log", ready_url=f"http://127.0.0.1:{port}/_count") as proc:
        yield Server(f"http://127.0.0.1:{port}/mcp", proc)


def backend_requests(server: Server, *, reset: bool = False) -> int:
    """MCP messages (POSTs) the backend has received since the last reset: the GET streams and
    DELETEs that open and close sessions are not requests a call makes."""
    base = server.url.rsplit("/", 1)[0]
    response = httpx2.post(f"{base}/_count/reset") if reset else httpx2.get(f"{base}/_count")
    return int(response.json().get("POST", 0))


@contextmanager
def gateway(work: Path, config: str, *, label: str = "gateway") -> Iterator[Server]:
    """Our gateway over streamable HTTP with `config` (YAML text)."""
    port = free_port()
    path = work / f"{label}-{port}.yaml"
    path.write_text(config)
    with running(
        gateway_command(path, "run", "--port", str(port), "--log-level", "warning"),
        log=work / f"{label}-{port}.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
    ) as proc:
        yield Server(f"http://127.0.0.1:{port}/mcp", proc)


@contextmanager
def stock_proxy(work: Path, backends: dict[str, str]) -> Iterator[Server]:
    """FastMCP's `create_proxy` in front of `backends` (name → URL)."""
    port = free_port()
    args = [PYTHON, "-m", "bench.stock_proxy", "--port", str(port)]
    for name, url in backends.items():
        args += ["--backend", f"{name}={url}"]
    with running(args, log=work / f"stock-{port}.log", ready_url=f"http://127.0.0.1:{port}/mcp") as proc:
        yield Server(f"http://127.0.0.1:{port}/mcp", proc)


def http_config(backends: dict[str, str]) -> str:
    """Gateway YAML mounting each URL under its name."""
    lines = ["backends:"]
    for name, url in backends.items():
        lines += [f"  {name}:", f"    url: {url}"]
    return "\n".join(lines) + "\n"


@contextmanager
def mcp_proxy(work: Path, binary: str) -> Iterator[Server]:
    """`mcp-proxy` (PyPI) bridging the stdio benchmark backend to streamable HTTP: the 1:1 bridge
    to compare the gateway's stdio link with."""
    port = free_port()
    args = [binary, "--port", str(port), "--host", "127.0.0.1", "--pass-environment", "--cwd", str(ROOT)]
    args += ["--", PYTHON, "-m", "bench.backend", "--transport", "stdio"]
    with running(args, log=work / f"mcp-proxy-{port}.log", ready_url=f"http://127.0.0.1:{port}/mcp") as proc:
        yield Server(f"http://127.0.0.1:{port}/mcp", proc)


def mcp_proxy_version(binary: str) -> str:
    """What `binary --version` says (`mcp-proxy 0.13.0`), or `mcp-proxy (version unknown)`."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "mcp-proxy (version unknown)"
    said = (done.stdout or done.stderr).strip().splitlines()
    return said[0] if done.returncode == 0 and said else "mcp-proxy (version unknown)"


def stdio_config() -> str:
    """Gateway YAML with the benchmark backend as a stdio subprocess."""
    command = f"[{PYTHON}, -m, bench.backend, --transport, stdio]"
    return f"backends:\n  bench:\n    command: {command}\n    cwd: {ROOT}\n"
