"""Hot reload, in memory: backends come and go, policies change, a bad file changes nothing,
and connected clients stay connected and are told."""

from __future__ import annotations

import gc
import textwrap
import weakref
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from gateway.reload import Reloader
from tests.conftest import ListChanged, connected, make_gateway

ECHO = """
backends:
  echo:
    module: tests.fakes.echo
"""
ECHO_AND_RICH = (
    ECHO
    + """
  rich:
    module: tests.fakes.rich
    namespace: r
"""
)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.asyncio
async def test_a_new_backend_appears_and_connected_clients_are_told(tmp_path: Path, era: str) -> None:
    gateway = make_gateway(ECHO)
    watcher = ListChanged()
    async with connected(gateway, mode=era, message_handler=watcher) as client:
        before = {t.name for t in await client.list_tools()}
        reloader = Reloader(gateway, write(tmp_path / "gateway.yaml", ECHO_AND_RICH))
        outcome = await reloader.reload()
        assert outcome.applied and outcome.added == ["rich"] and not outcome.restarted
        if era == "legacy":  # the 2026-07-28 client hears list_changed on a listen stream it has not opened
            await watcher.next_change(0, within=5)
        after = {t.name for t in await client.list_tools()}
        assert before < after and "r_shape" in after
        assert (await client.call_tool("echo_echo", {"text": "same client"})).data == "same client"
        shaped = await client.call_tool_mcp("r_shape", {"name": "square"})
        assert not shaped.isError


@pytest.mark.asyncio
async def test_a_removed_backend_stops_and_its_tools_leave(tmp_path: Path) -> None:
    gateway = make_gateway(ECHO_AND_RICH)
    async with connected(gateway) as client:
        rich = gateway.backends["rich"]
        outcome = await Reloader(gateway, write(tmp_path / "g.yaml", ECHO)).reload()
        assert outcome.removed == ["rich"] and "rich" not in gateway.backends
        assert rich.state == "stopped"
        names = {t.name for t in await client.list_tools()}
        assert "r_shape" not in names and "echo_echo" in names
        with pytest.raises(Exception, match="r_shape"):
            await client.call_tool("r_shape", {"kind": "text"})


@pytest.mark.asyncio
async def test_a_changed_backend_restarts_under_its_new_name(tmp_path: Path) -> None:
    gateway = make_gateway(ECHO)
    async with connected(gateway) as client:
        old = gateway.backends["echo"]
        outcome = await Reloader(gateway, write(tmp_path / "g.yaml", ECHO + "    namespace: e2\n")).reload()
        assert outcome.restarted == ["echo"] and gateway.backends["echo"] is not old
        names = {t.name for t in await client.list_tools()}
        assert "e2_echo" in names and "echo_echo" not in names
        assert (await client.call_tool("e2_echo", {"text": "renamed"})).data == "renamed"


@pytest.mark.asyncio
async def test_policies_change_without_touching_backends(tmp_path: Path) -> None:
    gateway = make_gateway(ECHO)
    async with connected(gateway) as client:
        backend = gateway.backends["echo"]
        limited = ECHO + "rate_limits:\n  per_principal: {rate: 1, per: 1h, burst: 2}\n"
        outcome = await Reloader(gateway, write(tmp_path / "g.yaml", limited)).reload()
        assert outcome.applied and not (outcome.added or outcome.removed or outcome.restarted)
        assert gateway.backends["echo"] is backend  # untouched
        for _ in range(2):
            await client.call_tool("echo_echo", {"text": "ok"})
        with pytest.raises(MCPError, match="rate limit"):
            await client.call_tool("echo_echo", {"text": "one too many"})


@pytest.mark.asyncio
async def test_an_invalid_file_is_refused_and_the_old_config_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = make_gateway(ECHO)
    async with connected(gateway) as client:
        bad = write(tmp_path / "g.yaml", "backends:\n  echo:\n    module: tests.fakes.echo\n    retries: 3\n")
        outcome = await Reloader(gateway, bad).reload()
        assert not outcome.applied and any("backends.echo" in p for p in outcome.problems)
        assert any(
            "reload refused" in r.getMessage() and "backends.echo" in r.getMessage() for r in caplog.records
        )
        assert (await client.call_tool("echo_echo", {"text": "still"})).data == "still"
        assert "echo" in gateway.backends and gateway.backends["echo"].state == "ready"


@pytest.mark.asyncio
async def test_the_watch_reloads_only_when_the_file_changes(tmp_path: Path) -> None:
    gateway = make_gateway(ECHO)
    path = write(tmp_path / "g.yaml", ECHO)
    async with connected(gateway):
        reloader = Reloader(gateway, path)
        assert await reloader.check() is None and reloader.reloads == 0
        write(path, ECHO_AND_RICH)
        outcome = await reloader.check()
        assert outcome is not None and outcome.added == ["rich"] and reloader.reloads == 1
        assert await reloader.check() is None
        (tmp_path / ".env").write_text("UNUSED=1\n")  # the loader reads it too
        assert (await reloader.check()) is not None and reloader.reloads == 2


@pytest.mark.asyncio
async def test_front_door_settings_are_reported_as_needing_a_restart(tmp_path: Path) -> None:
    gateway = make_gateway(ECHO)
    async with connected(gateway):
        changed = ECHO + "http:\n  allowed_hosts: [gateway.internal]\ngateway:\n  name: renamed\n"
        outcome = await Reloader(gateway, write(tmp_path / "g.yaml", changed)).reload()
        assert outcome.applied and outcome.needs_restart == ["http", "gateway.name"]


class _Garbage:
    """A cycle only the garbage collector can free."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.asyncio
async def test_a_reload_collects_what_a_frozen_start_up_left_behind(tmp_path: Path) -> None:
    """`gateway run` freezes what it built at start-up (`cli._settle`); after a reload, what the
    old config left (cycles included) is collected, and what lives on is frozen again."""
    gateway = make_gateway(ECHO_AND_RICH)
    async with connected(gateway):
        left = _Garbage()
        gone = weakref.ref(left)
        gc.collect()
        gc.freeze()
        try:
            del left  # a cycle, now frozen: no collection looks at it
            gc.collect()
            assert gone() is not None
            await Reloader(gateway, write(tmp_path / "g.yaml", ECHO)).reload()
            assert gone() is None
            assert gc.get_freeze_count() > 0
        finally:
            gc.unfreeze()
