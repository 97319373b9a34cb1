"""`gateway lock` and the lockfile half of `gateway check`.

    gateway lock  [--config PATH] [--output PATH]   list every backend, write the lockfile
    gateway check [--config PATH]                   ...and compare every backend with it

`gateway lock` writes nothing unless every backend answered: a lock missing a backend would
make that backend's `block` policy refuse all of it. Both start the gateway in-process and list
the backends the way `gateway check` does (see `gateway.commands.probe`).
"""

from __future__ import annotations

from pathlib import Path

from gateway.app import Gateway
from gateway.commands.probe import check
from gateway.routing.lockfile import LockedBackend, Lockfile, diff, drift_lines
from gateway.upstream.catalog import Listing


async def write_lock(gateway: Gateway, output: str | None) -> tuple[bool, list[str]]:
    """List every backend and write the lockfile; returns (written, lines to print)."""
    problems = await check(gateway)
    listings: dict[str, Listing] = {}
    down: list[str] = []
    for name, backend in gateway.backends.items():
        if backend.listing is None or backend.last_error is not None:
            down.append(name)  # (after the run its state is "stopped"; its listing stays)
        else:
            listings[name] = backend.listing
    path = Path(output) if output else gateway.lock.path
    if down:
        lines = [p for p in problems if not p.startswith("name collision")]
        return False, [*lines, f"{path}: not written ({', '.join(down)} did not answer)"]
    lockfile = Lockfile.of(listings)
    lockfile.write(path)
    counts = {
        kind: sum(len(b.of_kind(kind)) for b in lockfile.backends.values())
        for kind in ("tools", "prompts", "resources", "templates")
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    return True, [f"{path}: locked {len(listings)} backends ({summary})"]


def lock_problems(gateway: Gateway) -> list[str]:
    """How the listed backends differ from the lockfile, one line each (none: no lockfile).

    Backends whose policy is `off` are not compared; backends that did not answer are already
    a problem of their own. Locked backends the config no longer has are reported too.
    """
    guard = gateway.lock
    name = guard.path.name
    if guard.problem is not None:
        return [f"{guard.path}: {guard.problem}"]
    if guard.lockfile is None:
        return [
            f"backends.{b}: `lock: block` but {guard.path} does not exist (run `gateway lock`)"
            for b, policy in guard.policies.items()
            if policy == "block"
        ]
    problems: list[str] = []
    for key, backend in gateway.backends.items():
        if guard.policy(key) == "off" or backend.listing is None:
            continue
        locked = guard.locked(key)
        changes = diff(locked, LockedBackend.of(backend.listing))
        if locked is None or changes:
            problems.extend(drift_lines(key, locked, changes, name))
    problems.extend(
        f"backends.{key}: in {name} but not in the config (run `gateway lock`)"
        for key in sorted(guard.lockfile.backends.keys() - gateway.backends.keys())
    )
    return problems
