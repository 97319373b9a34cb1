"""Hot reload: a changed `gateway.yaml` is applied without dropping connected clients.

`gateway run` reloads on SIGHUP and, unless `gateway.watch_config` is off, when the file (or the
`.env` beside it, or the tool lockfile) changes. A new file is validated first: an invalid one is
refused, its problems are logged, and the old configuration keeps serving. A valid one is applied
in place: removed backends stop, new ones start, changed ones restart; views, rate limits, size
limits, the audit sink and the lockfile are swapped; clients get `list_changed`. What is bound at
startup (the HTTP front: `http`, `auth`, the console's `ui`, and the gateway's name) needs a
restart, and the log says so. While it watches, the reloader is also the console's reload button
(`Gateway.reloader`).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from gateway.config import GatewayConfig, LoadedConfig, load_config
from gateway.errors import ConfigError
from gateway.relay.notify import KINDS

if TYPE_CHECKING:
    from gateway.app import Gateway

logger = logging.getLogger(__name__)

RESTART_SECTIONS = ("http", "auth", "ui")
"""Bound when the HTTP front is built: a change takes effect at the next start."""


@dataclass
class Outcome:
    """What one reload did."""

    applied: bool
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)


class Reloader:
    """Applies new configurations to a running gateway, one at a time."""

    def __init__(
        self, gateway: Gateway, path: Path, *, loader: Callable[[Path], LoadedConfig] = load_config
    ) -> None:
        self._gateway = gateway
        self._path = path
        self._loader = loader
        self._lock = anyio.Lock()
        self._fingerprint = self.fingerprint()
        self.reloads = 0
        self.last: Outcome | None = None

    def fingerprint(self) -> str:
        """A digest of the file, the `.env` beside it (what the loader reads) and the lockfile."""
        digest = hashlib.sha256()
        for candidate in (self._path, self._path.parent / ".env", self._gateway.lock.path):
            try:
                digest.update(candidate.read_bytes())
            except OSError:
                digest.update(b"\0absent")
        return digest.hexdigest()

    async def check(self) -> Outcome | None:
        """Reload if the file changed since the last look (one step of the watch)."""
        current = self.fingerprint()
        if current == self._fingerprint:
            return None
        return await self.reload()

    async def reload(self) -> Outcome:
        """Load the file and apply it; an invalid file changes nothing."""
        async with self._lock:
            self._fingerprint = self.fingerprint()
            try:
                loaded = self._loader(self._path)
            except ConfigError as error:
                outcome = Outcome(applied=False, problems=list(error.problems))
                for problem in error.problems:
                    logger.error("reload refused, the running config stays: %s: %s", error.source, problem)
            else:
                outcome = await self.apply(loaded.config)
            self.last = outcome
            return outcome

    async def apply(self, new: GatewayConfig) -> Outcome:
        """Move the running gateway to `new`."""
        gateway = self._gateway
        old = gateway.config
        outcome = Outcome(applied=True)
        outcome.needs_restart = [s for s in RESTART_SECTIONS if getattr(old, s) != getattr(new, s)]
        if old.gateway.name != new.gateway.name:
            outcome.needs_restart.append("gateway.name")
        outcome.removed = sorted(old.backends.keys() - new.backends.keys())
        outcome.added = sorted(new.backends.keys() - old.backends.keys())
        outcome.restarted = sorted(
            name
            for name in old.backends.keys() & new.backends.keys()
            if old.backends[name] != new.backends[name]
            or old.namespace_of(name) != new.namespace_of(name)
            or old.egress != new.egress
        )
        for name in outcome.removed + outcome.restarted:
            await gateway.stop_backend(name)
        gateway.apply_policies(new)
        started = [await gateway.start_backend(name) for name in outcome.restarted + outcome.added]
        async with anyio.create_task_group() as group:
            for backend in started:
                group.start_soon(backend.load_catalog)
        gateway.rebuild_index()
        gateway.notifier.list_changed(KINDS)
        self.reloads += 1
        if gc.get_freeze_count():  # `gateway run` froze what it built at start-up (cli._settle)
            # some of it is garbage now (the old config, stopped backends, cycles included):
            # collect it once, then freeze what lives on
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        logger.warning(
            "config reloaded: %d backends (added %s, removed %s, restarted %s)",
            len(new.backends),
            ", ".join(outcome.added) or "none",
            ", ".join(outcome.removed) or "none",
            ", ".join(outcome.restarted) or "none",
        )
        if outcome.needs_restart:
            logger.warning("changed, takes effect after a restart: %s", ", ".join(outcome.needs_restart))
        return outcome

    async def report(self) -> dict[str, Any]:
        """Reload now, and say what happened as JSON-ready data (the console's reload)."""
        return asdict(await self.reload())

    async def watch(self) -> None:
        """Reload on SIGHUP and, if configured, when the file changes; runs until cancelled.
        Meanwhile the gateway's `reloader` is this one."""
        self._gateway.reloader = self.report
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._on_sighup)
                while True:
                    settings = self._gateway.config.gateway
                    await anyio.sleep(settings.watch_interval)
                    if settings.watch_config:
                        await self.check()
        finally:
            if self._gateway.reloader == self.report:
                self._gateway.reloader = None

    async def _on_sighup(self) -> None:
        with anyio.open_signal_receiver(signal.SIGHUP) as signals:
            async for _ in signals:
                logger.warning("SIGHUP: reloading %s", self._path)
                await self.reload()
