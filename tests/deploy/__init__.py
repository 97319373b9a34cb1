"""The container deployment as data: docker-compose.yml resolved the way `docker compose config`
resolves it, the Dockerfile's instructions, the secrets the env example lists.

Shared by tests/deploy (the files, checked without a Docker engine) and tests/e2e/test_topology.py
(the same topology as local processes, probed with the very health checks these files declare).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from tests.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_CONFIG = ROOT / "deploy" / "gateway.compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "compose.env.example"
BACKENDS = ("analytics", "datagen", "lookup")

_COMPOSE_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")


def example_secrets() -> dict[str, str]:
    """Every variable the env example lists, each with a fresh random value (hex, as it asks)."""
    return {name: secrets.token_hex(16) for name in dotenv_values(ENV_EXAMPLE)}


def compose_references(text: str) -> dict[str, str | None]:
    """`${VAR}` references in compose text (YAML comments aside) → their default (None: none)."""
    found: dict[str, str | None] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in _COMPOSE_VAR.finditer(line):
            escaped, name, operator, default = match.groups()
            if not escaped:
                found[name] = default if operator in (":-", "-") else None
    return found


def docker_compose_available() -> bool:
    """Whether `docker compose` (the v2 plugin) runs here; `config` needs no Docker engine."""
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def compose_config_by_docker(env_file: Path) -> dict[str, Any]:
    """`docker compose config --format json`, interpolated from `env_file` only."""
    done = subprocess.run(
        [
            "docker",
            "compose",
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # Variables in the caller's shell would win over the env file: keep only what docker needs.
        env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_CONFIG")},
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"docker compose config failed ({done.returncode}):\n{done.stderr}")
    model: dict[str, Any] = json.loads(done.stdout)
    return model


def compose_config_by_yaml(environ: dict[str, str]) -> dict[str, Any]:
    """The same model without Docker: YAML (anchors and merge keys), interpolation, and the
    normalizations of `docker compose config` that the tests read."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    model: dict[str, Any] = _interpolate(raw, environ)
    for service in model.get("services", {}).values():
        _normalize(service)
    return model


def _interpolate(value: Any, environ: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, environ) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        escaped, name, operator, argument = match.groups()
        if escaped:
            return "$"
        current = environ.get(name)
        if operator == ":-":
            return current or argument
        if operator == "-":
            return argument if current is None else current
        if operator in (":?", "?") and not (current if operator == ":?" else current is not None):
            raise AssertionError(f"compose: required variable {name} is missing: {argument}")
        return current or ""

    return _COMPOSE_VAR.sub(substitute, value)


def _normalize(service: dict[str, Any]) -> None:
    """Short syntax → the long form `docker compose config` prints (for the fields read here)."""
    environment = service.get("environment")
    if isinstance(environment, list):
        service["environment"] = dict(item.split("=", 1) for item in environment)
    if isinstance(service.get("environment"), dict):
        service["environment"] = {k: "" if v is None else str(v) for k, v in service["environment"].items()}
    depends_on = service.get("depends_on")
    if isinstance(depends_on, list):
        service["depends_on"] = {name: {"condition": "service_started"} for name in depends_on}
    build = service.get("build")
    if isinstance(build, str):
        build = service["build"] = {"context": build}
    if isinstance(build, dict):
        build["context"] = str((ROOT / build.get("context", ".")).resolve())
        build.setdefault("dockerfile", "Dockerfile")
    check = service.get("healthcheck")
    if check is not None and isinstance(check.get("test"), str):
        check["test"] = ["CMD-SHELL", check["test"]]
    service["volumes"] = [_volume(v) for v in service.get("volumes", [])]
    service["ports"] = [_port(p) for p in service.get("ports", [])]
    service["expose"] = [str(p) for p in service.get("expose", [])]


def _volume(volume: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(volume, str):
        source, target, *mode = volume.split(":")
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        volume = {"type": kind, "source": source, "target": target, "read_only": mode == ["ro"]}
    volume = dict(volume)
    if volume.get("type") == "bind":
        volume["source"] = str((ROOT / volume["source"]).resolve())
    return volume


def _port(port: str | int | dict[str, Any]) -> dict[str, Any]:
    if isinstance(port, dict):
        return {**port, "published": str(port.get("published", ""))}
    *host, target = str(port).split(":")
    host_ip = host[0] if len(host) == 2 else None
    published = host[-1] if host else ""
    return {"host_ip": host_ip, "published": published, "target": int(target)}


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    arguments: str
    stage: int
    """Index of the build stage it belongs to (-1: before the first FROM)."""


def dockerfile_instructions(text: str | None = None) -> list[Instruction]:
    """The Dockerfile's instructions, comments dropped, `\\` continuations joined."""
    text = DOCKERFILE.read_text() if text is None else text
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions: list[Instruction] = []
    stage = -1
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(keyword.upper(), arguments.strip(), stage))
    return instructions


def healthcheck_command(instruction: Instruction) -> list[str]:
    """The exec-form command of a `HEALTHCHECK [options] CMD [...]` instruction."""
    _, separator, command = instruction.arguments.partition("CMD ")
    if not separator or not command.strip().startswith("["):
        raise AssertionError(f"HEALTHCHECK must use the exec form CMD [...]: {instruction.arguments}")
    parsed: list[str] = json.loads(command)
    return parsed
