"""The config page's data and actions: the effective configuration (secrets masked), a check of
the file on disk or of a candidate text, and a reload, for admins only.

A check validates exactly as the loader does (`${VAR}` from the `.env` beside the file and the
environment), and each problem comes back split into its YAML path, line and message, so the
page can show it where it is. A candidate text is only checked, never written anywhere. Reload
applies the file on disk through the same reloader `gateway run` uses for SIGHUP and file
changes (`gateway.reload`); it is available while that reloader runs (`gateway run` with a
config file), and its outcome says what changed and what needs a restart.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig, load_config, parse_config
from gateway.config.loader import environment
from gateway.console.masking import masked
from gateway.errors import ConfigError
from gateway.policies.active import ActivePolicies

ReloadHook = Callable[[], Awaitable[Mapping[str, Any]]]
"""Reloads the config file now; answers what the reload did (applied, added, problems...)."""

_AT_PATH = re.compile(r"^(?P<path>.*?)(?: \(line (?P<line>\d+)\))?: (?P<message>.*)$", re.S)
_AT_MARK = re.compile(r"^line (?P<line>\d+), column (?P<column>\d+): (?P<message>.*)$", re.S)
CANDIDATE = "(candidate)"


def located(problem: str) -> dict[str, Any]:
    """A loader problem as `{path, line, message}` (`path` None: YAML syntax; `line` None: unknown)."""
    mark = _AT_MARK.match(problem)
    if mark is not None:
        return {"path": None, "line": int(mark["line"]), "message": mark["message"]}
    found = _AT_PATH.match(problem)
    if found is None:
        return {"path": None, "line": None, "message": problem}
    line = found["line"]
    return {"path": found["path"], "line": int(line) if line else None, "message": found["message"]}


def differences(old: GatewayConfig, new: GatewayConfig) -> dict[str, Any]:
    """What `new` changes of `old`: top-level sections, and backends added, removed, changed."""
    sections = [name for name in type(old).model_fields if getattr(old, name) != getattr(new, name)]
    both = old.backends.keys() & new.backends.keys()
    return {
        "sections": sections,
        "added": sorted(new.backends.keys() - old.backends.keys()),
        "removed": sorted(old.backends.keys() - new.backends.keys()),
        "changed": sorted(n for n in both if old.backends[n] != new.backends[n]),
    }


class ConfigDesk:
    """The configuration in force, its file, and the reloader."""

    def __init__(
        self,
        policies: ActivePolicies,
        *,
        path: Path | None,
        base_dir: Path,
        reloader: Callable[[], ReloadHook | None],
    ) -> None:
        self._policies = policies
        self._path = path
        self._base_dir = base_dir
        self._reloader = reloader

    def effective(self) -> dict[str, Any]:
        """The configuration in force, secrets masked."""
        return {
            "path": str(self._path) if self._path is not None else None,
            "reload_available": self._path is not None and self._reloader() is not None,
            "config": masked(self._policies.current.config),
        }

    def check_file(self) -> dict[str, Any]:
        """Validate the file on disk (as a reload would load it)."""
        if self._path is None:
            return {"ok": False, "source": None, "problems": [located("no config file: built from text")]}
        try:
            loaded = load_config(self._path)
        except ConfigError as error:
            return {"ok": False, "source": error.source, "problems": [located(p) for p in error.problems]}
        changes = differences(self._policies.current.config, loaded.config)
        return {"ok": True, "source": str(self._path), "problems": [], "changes": changes}

    def check_text(self, text: str) -> dict[str, Any]:
        """Validate a candidate configuration text (nothing is written or applied)."""
        try:
            config = parse_config(text, source=CANDIDATE, environ=environment(self._base_dir))
        except ConfigError as error:
            return {"ok": False, "source": CANDIDATE, "problems": [located(p) for p in error.problems]}
        changes = differences(self._policies.current.config, config)
        return {"ok": True, "source": CANDIDATE, "problems": [], "changes": changes}

    async def reload(self) -> dict[str, Any] | None:
        """Reload the file now (None: no reloader runs, so nothing can be reloaded)."""
        hook = self._reloader()
        if hook is None:
            return None
        outcome = dict(await hook())
        outcome["problems"] = [located(p) for p in outcome.get("problems", [])]
        return outcome
