"""The docker-compose topology as local processes: each backend deployed on its own over
streamable HTTP, the gateway as its own process routing to them with deploy/gateway.compose.yaml
(its compose host names rewritten to 127.0.0.1 and free ports, nothing else changed), driven by
the official TypeScript SDK client with the API keys the config demands. The health checks that
docker-compose.yml and the Dockerfile declare are run against these processes too."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
import pytest
import yaml
from fastmcp import Client

from tests.conftest import PYTHON, ROOT, free_port
from tests.deploy import (
    BACKENDS,
    COMPOSE_FILE,
    DEPLOY_CONFIG,
    dockerfile_instructions,
    example_secrets,
    healthcheck_command,
)
from tests.e2e.support import (
    INITIALIZE,
    MCP_HEADERS,
    STARTUP_DEADLINE,
    backend_command,
    gateway_command,
    running,
    ts_client,
    wait_for_http,
)
from tests.redis_server import redis_server

pytestmark = pytest.mark.e2e

SEED_VALUES = [10, 25, 30, 45, 50, 65, 70, 85, 90, 100]


@dataclass(frozen=True)
class Topology:
    url: str
    ports: dict[str, int]
    """Compose service name → the port its local process listens on."""
    config: Path
    keys: dict[str, str]
    """The env example's variables, each with a random value (the gateway's API keys among them)."""


def local_config(ports: dict[str, int]) -> dict[str, Any]:
    """deploy/gateway.compose.yaml with each backend URL's compose host name replaced by
    127.0.0.1 and its local port, and egress allowing loopback instead of those names."""
    data: dict[str, Any] = yaml.safe_load(DEPLOY_CONFIG.read_text())
    for key, backend in data["backends"].items():
        url = urlsplit(backend["url"])
        assert url.hostname in ports, f"backends.{key}.url: {url.hostname} is not a compose backend"
        backend["url"] = urlunsplit(url._replace(netloc=f"127.0.0.1:{ports[url.hostname]}"))
    assert set(data["egress"]["allow"]) == set(ports), "egress.allow should name exactly the backends"
    data["egress"]["allow"] = ["127.0.0.0/8"]
    return data


def seed_lookup(port: int) -> None:
    """One call straight to the lookup backend: its first call creates and seeds the database
    (embedding the seed documents, seconds of work), done here while the gateway starts."""

    async def call() -> None:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            await client.call_tool("query_user_data", {"user_id": 1})

    anyio.run(call)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("topology")
    ports = {name: free_port() for name in BACKENDS}
    gateway_port = free_port()
    keys = example_secrets()
    config = work / "gateway.yaml"
    config.write_text(yaml.safe_dump(local_config(ports), sort_keys=False))
    backend_env = {"lookup": {"LOOKUP_DATABASE_URL": f"sqlite:///{work / 'lookup.sqlite3'}"}}
    with ExitStack() as stack:
        # Redis, as compose runs it: with the example's password; the gateway's REDIS_URL is built
        # from it, as docker-compose.yml builds it.
        redis = stack.enter_context(redis_server(work, password=keys["REDIS_PASSWORD"]))
        keys["REDIS_URL"] = redis.url
        # The backends start together (as compose starts them), then each is waited for.
        backends = {
            name: stack.enter_context(
                running(
                    backend_command(name, "--transport", "http", "--port", str(port)),
                    log=work / f"{name}.log",
                    env=backend_env.get(name),
                )
            )
            for name, port in ports.items()
        }
        for name, proc in backends.items():
            wait_for_http(proc, f"http://127.0.0.1:{ports[name]}/mcp")
        seeding = threading.Thread(target=seed_lookup, args=(ports["lookup"],))
        seeding.start()
        stack.callback(seeding.join, STARTUP_DEADLINE)  # before the backends stop, should the gateway fail
        stack.enter_context(
            running(
                gateway_command(config, "run", "--host", "127.0.0.1", "--port", str(gateway_port)),
                log=work / "gateway.log",
                ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
                expect_status=200,
                env=keys,
            )
        )
        seeding.join(timeout=STARTUP_DEADLINE)
        yield Topology(f"http://127.0.0.1:{gateway_port}/mcp", ports, config, keys)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_one_client_reaches_all_three_backends_through_the_gateway(topology: Topology) -> None:
    """Lists from every namespace, then one call on each backend, with the ops key."""
    plan = {
        "target": {"url": topology.url, "headers": bearer(topology.keys["GATEWAY_OPS_KEY"])},
        "steps": [
            {"op": "listAll", "what": "tools"},
            {"op": "listAll", "what": "resourceTemplates"},
            {"op": "callTool", "name": "analytics_analyze_dataset", "arguments": {"values": SEED_VALUES}},
            {"op": "readResource", "uri": "dataset://datagen/sample/5"},
            {"op": "callTool", "name": "lookup_query_user_data", "arguments": {"user_id": 1}},
        ],
    }
    tools, templates, analysis, sample, user = ts_client(plan)["steps"]
    names = {t["name"] for t in tools["tools"]}
    assert {"analytics_analyze_dataset", "datagen_generate_dataset", "lookup_query_user_data"} <= names
    assert {n.split("_", 1)[0] for n in names} == set(BACKENDS)
    assert "dataset://datagen/sample/{rows}" in {t["uriTemplate"] for t in templates["resourceTemplates"]}
    assert (analysis["structuredContent"]["mean"], analysis["structuredContent"]["median"]) == (57, 57.5)
    (item,) = sample["contents"]
    assert item["uri"] == "dataset://datagen/sample/5" and item["text"].count("\n") == 6
    assert user["structuredContent"]["rows"][0]["name"] == "Ada Lovelace"


def test_the_analyst_sees_only_analytics(topology: Topology) -> None:
    """The compose config's view: the analyst key lists the analytics namespace alone."""
    plan = {
        "target": {"url": topology.url, "headers": bearer(topology.keys["GATEWAY_ANALYST_KEY"])},
        "steps": [{"op": "listAll", "what": "tools"}],
    }
    (tools,) = ts_client(plan)["steps"]
    assert {t["name"].split("_", 1)[0] for t in tools["tools"]} == {"analytics"}


def test_a_client_without_a_key_is_refused(topology: Topology) -> None:
    response = httpx2.post(topology.url, json=INITIALIZE, headers=MCP_HEADERS, timeout=10)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")


def test_gateway_check_passes_on_the_compose_config(topology: Topology) -> None:
    """`gateway check` (validate + probe every backend) on the compose config, as an operator runs it."""
    done = subprocess.run(
        [PYTHON, "-m", "gateway", "check", "--config", str(topology.config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **topology.keys},
        check=False,
    )
    assert done.returncode == 0 and ": ok (" in done.stdout, done.stdout + done.stderr


def test_the_declared_health_checks_pass_against_the_running_services(topology: Topology) -> None:
    """docker-compose.yml's backend probes and the Dockerfile's gateway probe, run as written
    (`python` being this interpreter), with the port each reads from its environment."""
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    gateway_port = str(urlsplit(topology.url).port)
    (check,) = [i for i in dockerfile_instructions() if i.keyword == "HEALTHCHECK"]
    probes = [(healthcheck_command(check), {"GATEWAY_PORT": gateway_port})]
    for name, port in topology.ports.items():
        kind, *command = services[name]["healthcheck"]["test"]
        assert kind == "CMD", f"{name}: the probe must run without a shell"
        probes.append((command, {"MCP_PORT": str(port)}))
    for command, env in probes:
        assert command[0] == "python"
        done = subprocess.run(
            [PYTHON, *command[1:]],
            capture_output=True,
            text=True,
            timeout=15,
            env={**os.environ, **env},
            check=False,
        )
        assert done.returncode == 0, f"{command} with {env} failed:\n{done.stderr}"
