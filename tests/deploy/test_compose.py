"""The container deployment, checked as files, without a Docker engine: docker-compose.yml as
`docker compose config` resolves it (when the docker CLI has the compose plugin) and as YAML
resolved the same way (always), the gateway config it mounts (through the gateway's own loader),
the env example, the Dockerfile and .dockerignore."""

from __future__ import annotations

import fnmatch
import itertools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
import yaml
from dotenv import dotenv_values

from gateway.config.loader import load_config
from gateway.config.model import GatewayConfig
from gateway.egress import Egress
from gateway.errors import ConfigError
from tests.conftest import ROOT
from tests.deploy import (
    BACKENDS,
    COMPOSE_FILE,
    DEPLOY_CONFIG,
    DOCKERIGNORE,
    ENV_EXAMPLE,
    Instruction,
    compose_config_by_docker,
    compose_config_by_yaml,
    compose_references,
    docker_compose_available,
    dockerfile_instructions,
    example_secrets,
    healthcheck_command,
)

SERVICES = {"gateway", *BACKENDS, "postgres", "redis"}
DERIVED = {"REDIS_URL": "REDIS_PASSWORD"}
"""Gateway variables compose builds from a secret of the env example (name -> that secret)."""
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEY$", re.IGNORECASE)
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?-)?\}$")
"""A whole value that is one variable reference with no default (or an empty one)."""
RUNTIME_BASE = "python:3.11-slim"


def gateway_variables() -> set[str]:
    """The variables deploy/gateway.compose.yaml reads, as its own loader reports them missing."""
    with pytest.raises(ConfigError) as caught:
        load_config(DEPLOY_CONFIG, environ={})
    names = {
        m.group(1) for p in caught.value.problems for m in [re.search(r"variable (\w+) is not set", p)] if m
    }
    assert names, f"expected missing-variable errors, got {caught.value.problems}"
    return names


@pytest.fixture(scope="module")
def secrets() -> dict[str, str]:
    return example_secrets()


@pytest.fixture(scope="module", params=["docker compose config", "yaml"])
def reading(request: pytest.FixtureRequest) -> str:
    """How the compose file is resolved: by the real compose implementation, and by this module."""
    if request.param == "docker compose config" and not docker_compose_available():
        pytest.skip("`docker compose` is not installed here; the YAML reading makes the same checks")
    return str(request.param)


def resolve(reading: str, environ: dict[str, str], directory: Path) -> dict[str, Any]:
    if reading == "yaml":
        return compose_config_by_yaml(environ)
    env_file = directory / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in environ.items()))
    return compose_config_by_docker(env_file)


@pytest.fixture(scope="module")
def services(
    reading: str, secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The resolved services, with every secret of the env example set to a random value."""
    model = resolve(reading, secrets, tmp_path_factory.mktemp("compose"))
    result: dict[str, Any] = model["services"]
    return result


@pytest.fixture(scope="module")
def config(secrets: dict[str, str]) -> GatewayConfig:
    """The gateway's config with the environment compose gives it (REDIS_URL built as there)."""
    environ = {**secrets, "REDIS_URL": f"redis://:{secrets['REDIS_PASSWORD']}@redis:6379/0"}
    return load_config(DEPLOY_CONFIG, environ=environ).config


def environment(service: dict[str, Any]) -> dict[str, str]:
    return dict(service.get("environment") or {})


class TestServices:
    def test_the_topology_is_the_gateway_its_backends_postgres_and_redis(
        self, services: dict[str, Any]
    ) -> None:
        """Exactly these services: a renamed or missing one breaks the gateway's URLs."""
        assert set(services) == SERVICES

    def test_every_service_has_an_image_or_a_build(self, services: dict[str, Any]) -> None:
        """Compose can start every service without guessing where its image comes from."""
        missing = [name for name, s in services.items() if not (s.get("image") or s.get("build"))]
        assert not missing, f"services without image or build: {missing}"

    def test_every_service_has_a_health_check(self, services: dict[str, Any]) -> None:
        """`depends_on: service_healthy` and operators both need one on every service."""
        for name, service in services.items():
            check = service.get("healthcheck") or {}
            test = check.get("test") or []
            assert test and test[0] in ("CMD", "CMD-SHELL") and not check.get("disable"), (
                f"{name}: no usable healthcheck ({check})"
            )

    def test_the_gateway_and_backends_are_one_image_built_from_this_dockerfile(
        self, services: dict[str, Any]
    ) -> None:
        """One image, several entry points: each differs only by command and environment."""
        ours = [services[name] for name in ("gateway", *BACKENDS)]
        assert len({s["image"] for s in ours}) == 1
        for service in ours:
            assert Path(service["build"]["context"]).resolve() == ROOT
            assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"

    def test_the_config_resolves_on_a_fresh_clone_with_no_env_file(
        self, reading: str, tmp_path: Path
    ) -> None:
        """`docker compose config` needs no secrets: every reference has an (empty) default."""
        model = resolve(reading, {}, tmp_path)
        assert environment(model["services"]["postgres"])["POSTGRES_PASSWORD"] == ""


class TestRouting:
    def test_each_backend_url_names_its_service_port_and_path(
        self, services: dict[str, Any], config: GatewayConfig
    ) -> None:
        """http://<service>:<MCP_PORT>/mcp, the port also exposed, the backend serving HTTP on it."""
        hosts = set()
        for key, backend in config.backends.items():
            assert backend.url is not None and backend.kind == "http", f"{key}: not streamable HTTP"
            url = urlsplit(backend.url)
            assert url.hostname in services, f"{key}: {url.hostname} is not a compose service"
            env = environment(services[url.hostname])
            assert url.port == int(env["MCP_PORT"]), f"{key}: URL port {url.port}, MCP_PORT {env['MCP_PORT']}"
            assert env["MCP_PORT"] in services[url.hostname]["expose"]
            assert (env["MCP_TRANSPORT"], env["MCP_HOST"], url.path) == ("http", "0.0.0.0", "/mcp")
            hosts.add(url.hostname)
        assert hosts == set(BACKENDS)

    def test_each_backend_accepts_the_host_name_the_gateway_sends(
        self, services: dict[str, Any], config: GatewayConfig
    ) -> None:
        """The backends' Host guard refuses unknown names (421): each is told its service name."""
        for backend in config.backends.values():
            host = urlsplit(backend.url or "").hostname
            command = services[str(host)]["command"]
            pairs = list(itertools.pairwise(command))
            assert ("--allowed-host", host) in pairs, f"{host}: command {command} lacks --allowed-host {host}"

    def test_the_egress_policy_lets_the_gateway_reach_every_backend(self, config: GatewayConfig) -> None:
        """The default allows loopback only; each compose name is allowed explicitly, by name
        (an address range would depend on the subnet Docker picks)."""
        guard = Egress(config.egress.allow)
        for backend in config.backends.values():
            url = urlsplit(backend.url or "")
            assert url.hostname is not None and url.port is not None
            assert url.hostname in config.egress.allow, f"{url.hostname} is not allowed by name"
            anyio.run(guard.check_host, url.hostname, url.port)  # a listed name is not resolved

    def test_the_gateway_reads_the_mounted_config(self, services: dict[str, Any]) -> None:
        """deploy/gateway.compose.yaml is mounted read-only where GATEWAY_CONFIG points."""
        gateway = services["gateway"]
        (mount,) = [v for v in gateway["volumes"] if v["type"] == "bind"]
        assert Path(mount["source"]).resolve() == DEPLOY_CONFIG.resolve()
        assert mount["target"] == environment(gateway)["GATEWAY_CONFIG"] and mount.get("read_only") is True

    def test_only_the_gateway_is_published_and_only_on_loopback(self, services: dict[str, Any]) -> None:
        """It listens on all interfaces of its container; the host publishes it on 127.0.0.1."""
        gateway = services["gateway"]
        env = environment(gateway)
        assert env["GATEWAY_HOST"] == "0.0.0.0"
        assert [(p.get("host_ip"), int(p["target"])) for p in gateway["ports"]] == [
            ("127.0.0.1", int(env["GATEWAY_PORT"]))
        ]
        published = [name for name, s in services.items() if s.get("ports") and name != "gateway"]
        assert not published, f"published besides the gateway: {published}"


class TestStartupOrder:
    def test_the_gateway_waits_for_every_backend_to_be_healthy(self, services: dict[str, Any]) -> None:
        depends_on = services["gateway"].get("depends_on") or {}
        for name in BACKENDS:
            assert (depends_on.get(name) or {}).get("condition") == "service_healthy", name

    def test_lookup_waits_for_the_database_its_url_names(self, services: dict[str, Any]) -> None:
        lookup, postgres = services["lookup"], environment(services["postgres"])
        assert (lookup.get("depends_on") or {}).get("postgres", {}).get("condition") == "service_healthy"
        url = urlsplit(environment(lookup)["LOOKUP_DATABASE_URL"])
        assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
        assert (url.username, url.path) == (postgres["POSTGRES_USER"], f"/{postgres['POSTGRES_DB']}")
        assert url.password == postgres["POSTGRES_PASSWORD"]


class TestSecrets:
    def test_the_env_example_lists_every_variable_the_compose_file_needs(self) -> None:
        """A reference without a default of its own must be in the example (and nothing else is)."""
        example = set(dotenv_values(ENV_EXAMPLE))
        references = compose_references(COMPOSE_FILE.read_text())
        needed = {name for name, default in references.items() if not default}
        assert needed <= example, f"not in {ENV_EXAMPLE.name}: {sorted(needed - example)}"
        unused = example - set(references)
        assert not unused, f"listed in {ENV_EXAMPLE.name} but never used: {sorted(unused)}"

    def test_every_variable_of_the_gateway_config_reaches_the_gateway(
        self, services: dict[str, Any], secrets: dict[str, str]
    ) -> None:
        """What the gateway's own loader would report missing is in the example and set by compose."""
        env = environment(services["gateway"])
        for name in gateway_variables():
            if name in DERIVED:  # built by compose from a secret of the example
                assert secrets[DERIVED[name]] in env.get(name, ""), f"{name} lacks {DERIVED[name]}"
                continue
            assert name in secrets, f"{name} is not in {ENV_EXAMPLE.name}"
            assert env.get(name) == secrets[name], f"{name} does not reach the gateway container"

    def test_each_secret_reaches_only_the_services_that_use_it(
        self, services: dict[str, Any], secrets: dict[str, str]
    ) -> None:
        """The gateway never holds the database password; PostgreSQL never holds an API key."""
        owners = {name: {"gateway"} for name in gateway_variables() if name not in DERIVED}
        owners["POSTGRES_PASSWORD"] = {"postgres", "lookup"}
        owners["REDIS_PASSWORD"] = {"redis", "gateway"}  # the gateway's REDIS_URL carries it
        assert set(owners) == set(secrets), "a secret in the env example has no owner in this test"
        for name, value in secrets.items():
            holders = {
                s for s, service in services.items() if any(value in v for v in environment(service).values())
            }
            assert holders == owners[name], f"{name} reaches {sorted(holders)}"

    def test_the_env_example_holds_no_values(self) -> None:
        """A copied but unfilled example must not start services with publicly known secrets."""
        filled = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v}
        assert not filled, f"{ENV_EXAMPLE.name} has values: {sorted(filled)}"

    def test_the_compose_file_holds_no_secret_literal(self) -> None:
        """Secret-looking variables and URL passwords are references with no default."""
        raw = yaml.safe_load(COMPOSE_FILE.read_text())
        for name, service in raw["services"].items():
            env = service.get("environment") or {}
            if isinstance(env, list):
                env = dict(item.split("=", 1) for item in env)
            for key, value in env.items():
                if SECRET_NAME.search(key):
                    assert REFERENCE.match(str(value)), f"{name}.environment.{key} is a literal: {value!r}"
                password = urlsplit(str(value)).password if "://" in str(value) else None
                if password is not None:
                    assert REFERENCE.match(password), f"{name}.environment.{key} has a literal password"

    def test_the_gateway_keys_come_from_the_environment(
        self, config: GatewayConfig, secrets: dict[str, str]
    ) -> None:
        assert config.auth is not None and config.auth.api_keys
        for principal, key in config.auth.api_keys.items():
            assert key.key is not None and key.key.get_secret_value() in secrets.values(), principal

    def test_secrets_stay_out_of_the_build_context(self) -> None:
        """.dockerignore keeps env files (and the local virtualenv and git) out of the image."""
        patterns = [
            line.strip()
            for line in DOCKERIGNORE.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]

        # Docker matches each pattern against the path and its parent directories; `**/` may
        # also match no directory at all.
        patterns += [p.removeprefix("**/") for p in patterns if p.startswith("**/")]

        def ignored(path: str) -> bool:
            parts = path.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            return any(fnmatch.fnmatch(p, pattern) for p in prefixes for pattern in patterns)

        for path in ("deploy/compose.env", ".env", "backends/.env", ".venv", ".git", "data/lookup.sqlite3"):
            assert ignored(path), f"{path} would be sent to the Docker build"


class TestDockerfile:
    @pytest.fixture(scope="class")
    def instructions(self) -> list[Instruction]:
        return dockerfile_instructions()

    @staticmethod
    def final_stage(instructions: list[Instruction]) -> list[Instruction]:
        last = max(i.stage for i in instructions)
        return [i for i in instructions if i.stage == last]

    def health_check(self, instructions: list[Instruction]) -> list[str]:
        checks = [i for i in self.final_stage(instructions) if i.keyword == "HEALTHCHECK"]
        assert len(checks) == 1, f"the runtime stage needs one HEALTHCHECK, has {len(checks)}"
        return healthcheck_command(checks[0])

    def test_it_builds_in_stages_and_ships_only_the_built_environment(
        self, instructions: list[Instruction]
    ) -> None:
        froms = [i for i in instructions if i.keyword == "FROM"]
        assert len(froms) >= 2, "expected a builder stage and a runtime stage"
        args = dict(
            i.arguments.split("=", 1)
            for i in instructions
            if i.keyword == "ARG" and i.stage == -1 and "=" in i.arguments
        )
        base = froms[-1].arguments.split()[0]
        base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), base)
        assert base == RUNTIME_BASE
        builder = froms[0].arguments.split()[-1]
        copies = [i.arguments for i in self.final_stage(instructions) if i.keyword == "COPY"]
        assert any(c.startswith(f"--from={builder} ") for c in copies), (
            f"the runtime copies nothing from {builder}"
        )
        assert not any(c.split()[0] in ("gateway", "backends", ".") for c in copies), "source in the runtime"

    def test_it_runs_as_a_user_that_is_not_root(self, instructions: list[Instruction]) -> None:
        users = [i.arguments for i in self.final_stage(instructions) if i.keyword == "USER"]
        assert users, "no USER: the container would run as root"
        assert users[-1].split(":")[0] not in ("root", "0")

    def test_it_checks_the_gateways_health(self, instructions: list[Instruction]) -> None:
        assert "/healthz" in " ".join(self.health_check(instructions))

    def test_compose_probes_the_gateway_as_the_image_does(
        self, instructions: list[Instruction], services: dict[str, Any]
    ) -> None:
        assert services["gateway"]["healthcheck"]["test"] == ["CMD", *self.health_check(instructions)]
