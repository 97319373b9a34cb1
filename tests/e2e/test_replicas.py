"""Two gateway replicas behind a load balancer, sharing rate limits in Redis.

Real processes: a redis-server, one HTTP backend (the fault-injecting fake, with a ledger of
every `work` it runs), two gateways started from one config file, and the loopback balancer of
`tests/e2e/balancer.py` (requests in turn; handshake-era sessions stick to the replica that
created them). Clients of both protocol eras talk only to the balancer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import redis
from fastmcp import Client

from tests.conftest import PYTHON, free_port
from tests.e2e.support import Proc, gateway_command, wait_for_http
from tests.redis_server import RedisServer, redis_server

pytestmark = pytest.mark.e2e

LIMIT = 5
"""Calls per principal per minute: a spent token comes back after 12 s, far longer than a test."""
KEYS = {name: f"{name}-key-0123456789abcdef" for name in ("ada", "bob")}
CALL_TIMEOUT = 10.0


class Cluster:
    """The processes, and what the test can ask of them."""

    def __init__(self, work: Path, redis: RedisServer) -> None:
        self.work = work
        self.redis = redis
        self.backend_port = free_port()
        self.replica_ports = [free_port(), free_port()]
        self.balancer_port = free_port()
        self.ledger = work / "ledger.txt"
        self.config = work / "gateway.yaml"
        self.config.write_text(
            f"""
http:
  allowed_hosts: ["127.0.0.1:{self.balancer_port}"]   # the balancer passes Host through
auth:
  api_keys:
    ada: {{key: "${{ADA_KEY}}"}}
    bob: {{key: "${{BOB_KEY}}"}}
rate_limits:
  per_principal: {{rate: {LIMIT}, per: 1m}}
  store: "${{REDIS_URL}}"
  key_prefix: "replicas:"
  fail_open: false
  store_timeout: 10s                                  # a loaded CI machine is not an outage
backends:
  fx:
    url: http://127.0.0.1:{self.backend_port}/mcp
"""
        )
        self.replicas: list[Proc | None] = [None, None]
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}/mcp"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[index]}/mcp"

    def start_replica(self, index: int) -> Proc:
        self.starts += 1
        env = {"ADA_KEY": KEYS["ada"], "BOB_KEY": KEYS["bob"], "REDIS_URL": self.redis.url}
        command = gateway_command(self.config, "run", "--port", str(self.replica_ports[index]))
        proc = Proc(command, log=self.work / f"replica{index}-{self.starts}.log", env=env)
        self.replicas[index] = proc
        return proc

    def wait_ready(self, index: int) -> None:
        proc = self.replicas[index]
        assert proc is not None
        wait_for_http(proc, f"http://127.0.0.1:{self.replica_ports[index]}/readyz", expect_status=200)

    def kill_replica(self, index: int) -> None:
        proc = self.replicas[index]
        assert proc is not None
        proc.kill()
        proc.stop()
        self.replicas[index] = None

    def stop_replicas(self) -> None:
        for proc in self.replicas:
            if proc is not None:
                proc.stop()

    def calls(self) -> list[int]:
        """Calls each replica forwarded or refused (its /readyz counters; -1 for a dead one)."""
        counts = []
        for index, port in enumerate(self.replica_ports):
            if self.replicas[index] is None:
                counts.append(-1)
                continue
            report = httpx2.get(f"http://127.0.0.1:{port}/readyz").json()
            counts.append(int(report["backends"]["fx"]["stats"].get("requests", 0)))
        return counts

    def balancer(self) -> dict[str, Any]:
        report: dict[str, Any] = httpx2.get(f"http://127.0.0.1:{self.balancer_port}/_balancer").json()
        return report

    def executed(self) -> Counter[str]:
        """Tags of the `work` calls the backend ran (a call run twice shows up twice)."""
        if not self.ledger.exists():
            return Counter()
        return Counter(line for line in self.ledger.read_text().splitlines() if line)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("replicas")
    with redis_server(work) as store, ExitStack() as stack:
        cluster = Cluster(work, store)
        backend = Proc(
            [PYTHON, "-m", "tests.fakes.faulty", "--port", str(cluster.backend_port)],
            log=work / "backend.log",
            env={"FAULTY_LEDGER": str(cluster.ledger)},
        )
        stack.callback(backend.stop)
        wait_for_http(backend, f"http://127.0.0.1:{cluster.backend_port}/_counters")
        stack.callback(cluster.stop_replicas)
        for index in range(2):
            cluster.start_replica(index)
        upstreams = [
            arg for port in cluster.replica_ports for arg in ("--upstream", f"http://127.0.0.1:{port}")
        ]
        balancer = Proc(
            [PYTHON, "-m", "tests.e2e.balancer", "--port", str(cluster.balancer_port), *upstreams],
            log=work / "balancer.log",
        )
        stack.callback(balancer.stop)
        for index in range(2):
            cluster.wait_ready(index)
        wait_for_http(balancer, f"http://127.0.0.1:{cluster.balancer_port}/_balancer")
        yield cluster


@pytest.fixture(autouse=True)
def fresh_limits(cluster: Cluster) -> Iterator[None]:
    """Every test starts with full buckets (they are all in the one Redis)."""
    client = redis.Redis.from_url(cluster.redis.url)
    client.flushdb()
    client.close()
    yield


@asynccontextmanager
async def client(
    cluster: Cluster, principal: str, era: str, url: str | None = None
) -> AsyncIterator[Client[Any]]:
    async with Client(url or cluster.url, auth=KEYS[principal], mode=era, timeout=CALL_TIMEOUT) as connected:
        yield connected


async def attempt(c: Client[Any], tool: str, arguments: dict[str, Any]) -> tuple[str, str]:
    """One call: ("ok", its text) or ("error", the message the client was given)."""
    try:
        with anyio.fail_after(CALL_TIMEOUT + 5):
            result = await c.call_tool(tool, arguments)
    except TimeoutError:
        raise AssertionError(f"{tool} {arguments} got no answer at all") from None
    except Exception as error:
        return "error", str(error)
    return "ok", str(result.data)


@pytest.mark.asyncio
async def test_each_era_sees_one_service_served_by_both_replicas(cluster: Cluster, era: str) -> None:
    calls_before, sent_before = cluster.calls(), [u["sent"] for u in cluster.balancer()["upstreams"]]
    sessions_before = set(cluster.balancer()["sessions"])
    async with client(cluster, "ada", era) as ada, client(cluster, "bob", era) as bob:
        listed = [sorted(t.name for t in await c.list_tools()) for c in (ada, bob, ada, bob)]
        outcomes = [
            await attempt(c, "fx_work", {"tag": f"a-{era}-{i}"}) for i, c in enumerate((ada, bob, ada, bob))
        ]
    for index in range(2):  # each replica, asked directly, lists the same
        async with client(cluster, "ada", era, url=cluster.replica_url(index)) as direct:
            listed.append(sorted(t.name for t in await direct.list_tools()))

    assert all(names == listed[0] for names in listed) and "fx_work" in listed[0]
    assert outcomes == [("ok", f"done a-{era}-{i}") for i in range(4)]
    calls = [after - before for after, before in zip(cluster.calls(), calls_before, strict=True)]
    sent = [
        u["sent"] - before for u, before in zip(cluster.balancer()["upstreams"], sent_before, strict=True)
    ]
    assert sum(calls) == 4 and all(n > 0 for n in sent), (calls, sent)
    sessions = {sid: i for sid, i in cluster.balancer()["sessions"].items() if sid not in sessions_before}
    if era == "legacy":  # each client's session stuck to the replica that created it, one each
        assert sorted(sessions.values()) == [0, 1] and calls == [2, 2]
    else:  # stateless: no session to stick to
        assert sessions == {}


@pytest.mark.asyncio
async def test_the_limit_holds_across_replicas_n_not_2n(cluster: Cluster, era: str) -> None:
    """ada calls 12 times through two clients (two replicas): exactly LIMIT calls succeed."""
    calls_before = cluster.calls()
    async with client(cluster, "ada", era) as first, client(cluster, "ada", era) as second:
        for c in (first, second):  # learnt up front, so no list request falls between the calls
            await c.list_tools()
        outcomes = [
            await attempt(c, "fx_work", {"tag": f"b-{era}-{i}"}) for i, c in enumerate([first, second] * 6)
        ]
    calls = [after - before for after, before in zip(cluster.calls(), calls_before, strict=True)]
    assert [kind for kind, _ in outcomes].count("ok") == LIMIT, outcomes
    refusals = [text for kind, text in outcomes if kind == "error"]
    assert len(refusals) == 12 - LIMIT
    assert all("rate limit exceeded (principal 'ada'" in text and "retry in" in text for text in refusals)
    assert calls == [6, 6], f"each replica took half the calls: {calls}"
    assert sum(cluster.executed()[f"b-{era}-{i}"] for i in range(12)) == LIMIT


@pytest.mark.asyncio
async def test_a_replica_killed_mid_run_loses_no_call_silently(cluster: Cluster, era: str) -> None:
    """A slow call is in flight on one replica when it is killed: that call fails, the client is
    told; every other call succeeds (handshake-era clients whose session died start a new one).
    Nothing runs twice, and everything reported done did run."""
    outcomes: dict[str, tuple[str, str]] = {}
    serial = iter(range(100))
    victim = -1

    async def call(c: Client[Any], name: str) -> None:
        tag = f"c-{era}-{name}-{next(serial)}"
        outcomes[tag] = await attempt(c, "fx_work", {"tag": tag})

    try:
        async with AsyncExitStack() as stack:
            clients = {name: await stack.enter_async_context(client(cluster, name, era)) for name in KEYS}
            for name in ("ada", "bob", "ada", "bob"):
                await call(clients[name], name)
            before = cluster.calls()
            async with anyio.create_task_group() as group:

                async def slow_call() -> None:
                    outcomes["slow"] = await attempt(clients["ada"], "fx_slow", {"ms": 30_000})

                group.start_soon(slow_call)
                victim = await in_flight_at(cluster, before)
                cluster.kill_replica(victim)

            for name in ("ada", "bob", "ada", "bob"):
                await call(clients[name], name)
                if list(outcomes.values())[-1] == ("error", "Session not found"):  # start anew
                    clients[name] = await stack.enter_async_context(client(cluster, name, era))
                    await call(clients[name], name)
    finally:
        if victim >= 0:
            cluster.start_replica(victim)
            cluster.wait_ready(victim)

    executed = cluster.executed()
    failed = sorted(tag for tag, (kind, _) in outcomes.items() if kind == "error")
    assert outcomes["slow"][0] == "error", f"the call cut off was reported as {outcomes['slow']}"
    assert all(executed[tag] == 1 for tag, (kind, _) in outcomes.items() if kind == "ok"), "done means run"
    assert all(executed[tag] <= 1 for tag in outcomes), "nothing ran twice"
    if era == "legacy":  # ada's session was on the dead replica: one call told so, then a new session
        assert [kind for kind, _ in outcomes.values()].count("ok") == 8 and len(outcomes) == 10, outcomes
        assert len(failed) == 2 and failed[0].startswith(f"c-{era}-ada-") and executed[failed[0]] == 0
    else:  # stateless: the balancer sends everything to the replica left
        assert [kind for kind, _ in outcomes.values()].count("ok") == 8 and failed == ["slow"], outcomes


async def in_flight_at(cluster: Cluster, before: list[int]) -> int:
    """The replica that has just taken one more call than `before` (polled, not slept on)."""
    with anyio.fail_after(10):
        while True:
            counts = await anyio.to_thread.run_sync(cluster.calls)
            grew = [i for i, (now, then) in enumerate(zip(counts, before, strict=True)) if now > then]
            if grew:
                return grew[0]
            await anyio.sleep(0.01)
