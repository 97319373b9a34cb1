"""The tool lockfile: each backend's definitions as they were when an operator approved them.

    gateway lock     lists every backend and writes gateway.lock
    gateway check    compares every backend with it (drift is a problem, named field by field)
    lock: warn|block each backend's policy at run time (see `gateway.routing.lockguard`)

A backend can change what a model reads (a tool's description, its schema) without anyone
noticing. The lock keeps, per backend, a SHA-256 of every tool, prompt, resource and resource
template definition exactly as the backend lists it (before the gateway renames anything), one
of each top-level field of it, and one of the backend as a whole. Digests are of canonical JSON
(sorted keys, compact separators, UTF-8), and the file is JSON with sorted keys and no
timestamp: the same definitions always give the same bytes, and a diff shows what moved.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import ConfigError
from gateway.methods import LISTS
from gateway.upstream.catalog import Item, Listing

LOCK_VERSION: Literal[1] = 1
KINDS: dict[str, tuple[str, str]] = {
    kind: (listed.identity, listed.singular) for kind, listed in LISTS.items()
}
"""Listing kind → (the field that names an item, how messages call it), in report order."""

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
What = Literal["changed", "added", "removed"]


def canonical(value: Any) -> bytes:
    """The canonical JSON of a value: sorted keys, compact separators, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a value."""
    return hashlib.sha256(canonical(value)).hexdigest()


def gateway_version() -> str:
    """What `generated_by` says: this gateway's distribution and version."""
    try:
        return f"mcp-orchestration-gateway {metadata.version('mcp-orchestration-gateway')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "mcp-orchestration-gateway (unknown version)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LockedItem(_Model):
    """One definition: the digest of all of it, and of each of its top-level fields."""

    sha256: Sha256
    fields: dict[str, Sha256]

    @classmethod
    def of(cls, item: Item) -> LockedItem:
        """Digest a definition as the backend listed it."""
        return cls(sha256=digest(dict(item)), fields={k: digest(v) for k, v in item.items()})


class LockedBackend(_Model):
    """Everything one backend lists, by the backend's own names (URIs for resources)."""

    sha256: Sha256
    """Digest of the backend as a whole (of every item's digest, by kind and name)."""
    tools: dict[str, LockedItem] = {}
    prompts: dict[str, LockedItem] = {}
    resources: dict[str, LockedItem] = {}
    resource_templates: dict[str, LockedItem] = {}

    @classmethod
    def of(cls, listing: Listing) -> LockedBackend:
        """Digest a backend's listing."""
        kinds: dict[str, dict[str, LockedItem]] = {}
        for kind, (identity, _) in KINDS.items():
            entries: dict[str, LockedItem] = {}
            for item in getattr(listing, kind):
                key = item.get(identity)
                if isinstance(key, str):
                    entries[key] = LockedItem.of(item)
            kinds[kind] = entries
        whole = digest({kind: {k: e.sha256 for k, e in entries.items()} for kind, entries in kinds.items()})
        return cls(
            sha256=whole,
            tools=kinds["tools"],
            prompts=kinds["prompts"],
            resources=kinds["resources"],
            resource_templates=kinds["templates"],
        )

    def of_kind(self, kind: str) -> dict[str, LockedItem]:
        """The items of one listing kind (`tools`, `prompts`, `resources`, `templates`)."""
        by_kind = {
            "tools": self.tools,
            "prompts": self.prompts,
            "resources": self.resources,
            "templates": self.resource_templates,
        }
        return by_kind[kind]


class Lockfile(_Model):
    """The whole of gateway.lock."""

    version: Literal[1] = LOCK_VERSION
    generated_by: str
    backends: dict[str, LockedBackend] = {}

    @classmethod
    def of(cls, listings: dict[str, Listing]) -> Lockfile:
        """Lock the listings of every backend (by the backend's key in gateway.yaml)."""
        return cls(
            generated_by=gateway_version(),
            backends={name: LockedBackend.of(listing) for name, listing in listings.items()},
        )

    def render(self) -> str:
        """The file's text: JSON, sorted keys, two-space indent, one digest per line."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"

    def write(self, path: Path) -> None:
        """Write the file atomically (a running gateway never reads half of it)."""
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(self.render(), encoding="utf-8")
        os.replace(partial, path)

    @classmethod
    def read(cls, path: Path) -> Lockfile:
        """Read and validate a lockfile; raises `ConfigError` naming each problem."""
        source = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError([f"cannot read the lockfile: {error.strerror}"], source=source) from None
        except ValueError as error:
            raise ConfigError([f"not valid JSON: {error}; re-run `gateway lock`"], source=source) from None
        if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
            found = data.get("version") if isinstance(data, dict) else None
            raise ConfigError(
                [f"version: {found!r} is not a lockfile version this gateway reads ({LOCK_VERSION})"],
                source=source,
            )
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = [
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in error.errors(include_url=False, include_input=False)
            ]
            raise ConfigError(problems, source=source) from None


@dataclass(frozen=True)
class Change:
    """One definition that differs from the lock."""

    kind: str
    """The listing kind: `tools`, `prompts`, `resources` or `templates`."""
    key: str
    """The backend's own name (or URI, URI template) of the item."""
    what: What
    fields: tuple[str, ...] = ()
    """For `changed`: the top-level fields that differ (added, removed or changed)."""

    def describe(self) -> str:
        """`tool analyze_dataset changed (description, inputSchema)`."""
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{KINDS[self.kind][1]} {self.key} {self.what}{detail}"


def diff(locked: LockedBackend | None, current: LockedBackend) -> list[Change]:
    """What differs between a backend's lock and its listing now (no lock: everything is added)."""
    changes: list[Change] = []
    for kind in KINDS:
        old = locked.of_kind(kind) if locked is not None else {}
        new = current.of_kind(kind)
        for key in sorted(old.keys() | new.keys()):
            before, after = old.get(key), new.get(key)
            if before is None:
                changes.append(Change(kind, key, "added"))
            elif after is None:
                changes.append(Change(kind, key, "removed"))
            elif before.sha256 != after.sha256:
                names = sorted(before.fields.keys() | after.fields.keys())
                fields = tuple(n for n in names if before.fields.get(n) != after.fields.get(n))
                changes.append(Change(kind, key, "changed", fields))
    return changes


def drift_lines(
    backend: str, locked: LockedBackend | None, changes: list[Change], lockname: str
) -> list[str]:
    """One line per change, each naming the backend by its YAML path."""
    if locked is None:
        return [f"backends.{backend}: not in {lockname} (run `gateway lock`)"]
    return [f"backends.{backend}: {change.describe()}" for change in changes]
