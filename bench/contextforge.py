"""IBM's ContextForge (`mcp-contextforge-gateway`, PyPI) as a second baseline, where it installs.

It needs Python >= 3.12, so the suite is given that interpreter (`--contextforge PYTHON`, or
`BENCH_CONTEXTFORGE_PYTHON`) with the package installed in it:

    python3.12 -m venv /tmp/cf && /tmp/cf/bin/pip install mcp-contextforge-gateway
    python -m bench.suite --contextforge /tmp/cf/bin/python

Started with its defaults (SQLite, one worker) apart from what a benchmark must change: fresh
secrets, the admin API on, loopback backends allowed (its SSRF guard refuses them), and its rate
limits lifted (100 calls a minute by default). The benchmark backend is registered through its
admin API and served as a virtual server, reached with a bearer token.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from bench import measure
from bench.topology import Server
from tests.conftest import free_port
from tests.e2e.support import running

LIFTED = {
    "MCPGATEWAY_UI_ENABLED": "false",
    "MCPGATEWAY_ADMIN_API_ENABLED": "true",
    "SSRF_ALLOW_LOCALHOST": "true",
    "RATE_LIMITING_ENABLED": "false",
    "TOOL_RATE_LIMIT": "1000000",
    "RATE_LIMIT_MEDIUM_RPM": "1000000",
    "RATE_LIMIT_MEDIUM_BURST": "100000",
}


@contextmanager
def contextforge(work: Path, backend_url: str, python: str) -> Iterator[Server]:
    """ContextForge in front of `backend_url`; the Server's URL is its virtual server's /mcp."""
    home = work / "contextforge"
    home.mkdir(exist_ok=True)
    secrets = subprocess.run(
        [python, "-m", "mcpgateway.scripts.init_secrets", "--stdout"],
        capture_output=True, text=True, check=True, cwd=home,
    ).stdout  # fmt: skip
    env = {**os.environ, **_dotenv(secrets), **LIFTED, "DATABASE_URL": f"sqlite:///{home / 'mcp.db'}"}
    env.pop("PYTHONPATH", None)
    port = free_port()
    binary = str(Path(python).with_name("mcpgateway"))
    base = f"http://127.0.0.1:{port}"
    with running(
        [binary, "--host", "127.0.0.1", "--port", str(port)],
        log=home / "contextforge.log",
        ready_url=f"{base}/health",
        expect_status=200,
        env=env,
    ) as proc:
        token = subprocess.run(
            [python, "-m", "mcpgateway.utils.create_jwt_token", "--username", "admin@example.com",
             "--exp", "240", "--secret", env["JWT_SECRET_KEY"]],
            capture_output=True, text=True, check=True, cwd=home, env=env,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        with httpx2.Client(base_url=base, headers=auth, timeout=60) as admin:
            registered = admin.post(
                "/gateways", json={"name": "bench", "url": backend_url, "transport": "STREAMABLEHTTP"}
            )
            registered.raise_for_status()
            listed = admin.get("/tools").json()
            tools = listed if isinstance(listed, list) else listed.get("items", [])
            created = admin.post(
                "/servers", json={"server": {"name": "bench", "associated_tools": [t["id"] for t in tools]}}
            )
            created.raise_for_status()
        url = f"{base}/servers/{created.json()['id']}/mcp"
        measure.HEADERS[url] = auth
        yield Server(url, proc)


def _dotenv(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip().strip('"') for key, value in pairs}
