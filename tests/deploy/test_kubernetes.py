"""The Kubernetes deployment (deploy/kubernetes) and the Fly.io recipe (fly.toml), checked as files:
both overlays rendered by `kubectl kustomize` and validated against the Kubernetes API schemas
offline (strict: an unknown field fails), then read as an operator and the cluster would read
them: probes, limits, security contexts, Secrets by reference, the mounted gateway config through
the gateway's own loader, NetworkPolicy reachability, and agreement with docker-compose.yml (one
image, the same ports, commands and environment)."""

from __future__ import annotations

import fnmatch
import itertools
import re
import secrets
import shlex
import tomllib
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
import yaml
from dotenv import dotenv_values

from gateway.config.loader import parse_config
from gateway.config.model import GatewayConfig
from gateway.egress import Egress
from gateway.errors import ConfigError
from tests.conftest import ROOT
from tests.deploy import (
    BACKENDS,
    DEPLOY_CONFIG,
    ENV_EXAMPLE,
    compose_config_by_yaml,
    dockerfile_instructions,
)
from tests.deploy.kubernetes import (
    CLUSTER_CONFIG,
    FLY_TOML,
    KUBERNETES_VERSIONS,
    KUSTOMIZE_DIR,
    OUTSIDE,
    OVERLAYS,
    TLS,
    Manifests,
    Pod,
    can_connect,
    describe,
    documented_fly_secrets,
    documented_secrets,
    pods,
    references,
    render,
    resolve_env,
    schema_problem,
    secret_refs,
)

OUR_IMAGE = "mcp-gateway"
"""The repository name of the image built from this Dockerfile (compose: mcp-gateway:local)."""
EXTERNAL = {"dev": set(), "prod": {"LOOKUP_DATABASE_URL", "REDIS_URL"}}
"""Variables compose builds from its own PostgreSQL and Redis, which prod reads from a Secret."""
KUBERNETES_ONLY_ENV = {"GATEWAY_PUBLIC_HOST", "PGDATA"}
"""Variables compose has no use for: the Ingress's Host name, PostgreSQL's data below the volume."""
IN_CLUSTER_ONLY = {"postgres", "redis"}
"""Compose services only overlays/dev runs in the cluster."""
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH|(^|_)KEY$", re.IGNORECASE)
SECRET_FLAGS = ("--requirepass", "--password")
EXAMPLE_SECRETS = {
    "LOOKUP_DATABASE_URL": "postgresql://lookup:{token}@db.example.com:5432/lookup?sslmode=require",
    "REDIS_URL": "rediss://:{token}@redis.example.com:6379/0",
}
"""Dummy Secret values that must be URLs; any other key gets a random hex token."""
SHUTDOWN_MARGIN = 5
"""Seconds after the drain for uvicorn to close and the process to exit."""
SCRAPE = "prometheus.io/"
QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
UNITS = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


@pytest.fixture(scope="module")
def rendered() -> dict[str, Manifests]:
    """Each overlay, rendered once for the module."""
    return {name: render(KUSTOMIZE_DIR / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def manifests(rendered: dict[str, Manifests], overlay: str) -> Manifests:
    return rendered[overlay]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml's services, each secret interpolated as the `$(VAR)` Kubernetes writes."""
    model = compose_config_by_yaml({name: f"$({name})" for name in dotenv_values(ENV_EXAMPLE)})
    services: dict[str, Any] = model["services"]
    return services


def example_secret(name: str, key: str) -> str:
    """A value for a Secret's key: what a real one looks like, never a real one."""
    return EXAMPLE_SECRETS.get(key, "{token}").format(token=secrets.token_hex(16))


def mounted_config(manifests: Manifests) -> tuple[str, dict[str, str]]:
    """The gateway config file the gateway container reads (where GATEWAY_CONFIG points, in the
    volume mounted there), and the container's environment."""
    container = manifests.container("gateway")
    env = resolve_env(container, manifests, example_secret)
    path = env["GATEWAY_CONFIG"]
    spec = manifests.workload("gateway")["spec"]["template"]["spec"]
    mounts = [
        m for m in container.get("volumeMounts", []) if path.startswith(m["mountPath"].rstrip("/") + "/")
    ]
    assert len(mounts) == 1, f"GATEWAY_CONFIG={path} is on no mounted volume (or several)"
    (volume,) = [v for v in spec["volumes"] if v["name"] == mounts[0]["name"]]
    assert "configMap" in volume, f"{path} is not on a ConfigMap volume: {volume}"
    key = path[len(mounts[0]["mountPath"].rstrip("/")) + 1 :]
    items = {i["path"]: i["key"] for i in volume["configMap"].get("items", [])}
    data = manifests.config_map(volume["configMap"]["name"])
    assert items.get(key, key) in data, f"ConfigMap {volume['configMap']['name']} has no {key}"
    return data[items.get(key, key)], env


@pytest.fixture(scope="module")
def config(manifests: Manifests) -> GatewayConfig:
    """The config the gateway Deployment mounts, through the gateway's own loader."""
    text, env = mounted_config(manifests)
    return parse_config(text, source="gateway-config (ConfigMap)", environ=env)


def project_version() -> str:
    version: str = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return version


def quantity(value: str | int) -> float:
    match = QUANTITY.match(str(value))
    assert match, f"not a resource quantity: {value!r}"
    return float(match.group(1)) * UNITS[match.group(2)]


def env_entries(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def secret_defined_before(container: dict[str, Any], name: str, before: str | None) -> bool:
    """Whether `name` is a secretKeyRef variable listed before `before` (None: anywhere)."""
    order = [e["name"] for e in container.get("env", [])]
    position = order.index(before) if before in order else len(order)
    return name in order[:position] and name in {v for v, _, _ in secret_refs(container)}


def selected_pods(manifests: Manifests, selector: dict[str, str]) -> list[dict[str, Any]]:
    return [
        w
        for w in manifests.workloads()
        if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{path}.{key}").items()}
    return {path.lstrip("."): value}


class TestRendering:
    def test_each_overlay_renders_with_the_default_load_restrictor(self, manifests: Manifests) -> None:
        """`kubectl kustomize overlays/NAME`, no flags: nothing is read from outside deploy/kubernetes."""
        kinds = {o["kind"] for o in manifests.objects}
        assert {"Namespace", "Deployment", "Service", "ConfigMap", "NetworkPolicy"} <= kinds
        stray = [
            describe(o)
            for o in manifests.objects
            if o["kind"] != "Namespace" and not o["metadata"].get("namespace")
        ]
        assert not stray, f"objects without a namespace: {stray}"

    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    def test_every_object_is_valid_for_the_kubernetes_api_in_strict_mode(
        self, manifests: Manifests, version: str
    ) -> None:
        """What the API server would refuse, unknown fields included, for the oldest and newest API."""
        problems = [p for o in manifests.objects if (p := schema_problem(o, version))]
        assert not problems, f"invalid for Kubernetes {version}:\n" + "\n".join(problems)

    def test_the_namespace_enforces_the_restricted_pod_security_standard(self, manifests: Manifests) -> None:
        (namespace,) = manifests.of_kind("Namespace")
        labels = namespace["metadata"].get("labels") or {}
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels


class TestWorkloads:
    def test_the_gateway_and_each_backend_are_their_own_deployment_and_service(
        self, manifests: Manifests
    ) -> None:
        """The independent deploys: one Deployment and one Service each, selecting its own pods."""
        for name in ("gateway", *BACKENDS):
            deployment, service = manifests.get("Deployment", name), manifests.get("Service", name)
            selected = selected_pods(manifests, service["spec"]["selector"])
            assert [w["metadata"]["name"] for w in selected] == [name], f"Service {name} selects {selected}"
            assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]

    def test_every_container_has_liveness_and_readiness_probes(self, manifests: Manifests) -> None:
        handlers = ("httpGet", "exec", "tcpSocket", "grpc")
        for where, _, container in manifests.containers():
            for probe in ("livenessProbe", "readinessProbe"):
                assert any(h in (container.get(probe) or {}) for h in handlers), f"{where}: no {probe}"

    def test_the_gateway_is_live_on_healthz_and_ready_on_readyz(self, manifests: Manifests) -> None:
        container = manifests.container("gateway")
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        for probe, path in expected.items():
            get = (container.get(probe) or {}).get("httpGet") or {}
            assert get.get("path") == path, (
                f"gateway {probe}: {get or 'not an httpGet probe'}, expected {path}"
            )
            assert get.get("port") in (*ports, *ports.values()), f"gateway {probe}: port {get.get('port')}"

    def test_every_backend_is_probed_with_the_compose_health_check(
        self, manifests: Manifests, compose: dict[str, Any]
    ) -> None:
        """Compose's health check, word for word: MCP `server/discover`; pg_isready; redis-cli ping."""
        for name, service in compose.items():
            if name == "gateway" or not manifests.has("Service", name):
                continue
            container = manifests.container(name)
            test = service["healthcheck"]["test"]
            assert test[0] == "CMD", f"compose {name}: healthcheck must use the exec form"
            for probe in ("readinessProbe", "livenessProbe"):
                command = ((container.get(probe) or {}).get("exec") or {}).get("command")
                assert command == test[1:], f"{name} {probe}: {command} is not compose's {test[1:]}"
            if name in BACKENDS:
                startup = ((container.get("startupProbe") or {}).get("exec") or {}).get("command")
                assert startup == test[1:], f"{name} startupProbe differs from compose"

    def test_every_container_has_requests_and_limits(self, manifests: Manifests) -> None:
        for where, _, container in manifests.containers():
            resources = container.get("resources") or {}
            for resource in ("cpu", "memory"):
                request = (resources.get("requests") or {}).get(resource)
                limit = (resources.get("limits") or {}).get(resource)
                assert request is not None and limit is not None, (
                    f"{where}: {resource} needs a request and a limit"
                )
                assert quantity(request) <= quantity(limit), (
                    f"{where}: {resource} request {request} > limit {limit}"
                )

    def test_every_container_runs_as_non_root_on_a_read_only_root_filesystem(
        self, manifests: Manifests
    ) -> None:
        """The restricted Pod Security Standard, and a root filesystem nothing can write."""
        for where, spec, container in manifests.containers():
            pod, own = spec.get("securityContext") or {}, container.get("securityContext") or {}

            def effective(key: str, pod: dict[str, Any] = pod, own: dict[str, Any] = own) -> Any:
                return own.get(key, pod.get(key))

            assert effective("runAsNonRoot") is True, f"{where}: runAsNonRoot is not true"
            assert effective("runAsUser") != 0, f"{where}: runs as uid 0"
            assert own.get("readOnlyRootFilesystem") is True, f"{where}: the root filesystem is writable"
            assert own.get("allowPrivilegeEscalation") is False, (
                f"{where}: allowPrivilegeEscalation is not false"
            )
            assert not own.get("privileged"), f"{where}: privileged"
            capabilities = own.get("capabilities") or {}
            assert "ALL" in (capabilities.get("drop") or []), f"{where}: capabilities are not all dropped"
            assert not capabilities.get("add"), f"{where}: adds capabilities {capabilities['add']}"
            seccomp = (effective("seccompProfile") or {}).get("type")
            assert seccomp in ("RuntimeDefault", "Localhost"), f"{where}: seccompProfile {seccomp}"

    def test_our_containers_run_as_the_images_user_with_a_writable_tmp(self, manifests: Manifests) -> None:
        """uid 10001 as the Dockerfile says; /tmp is an emptyDir (the only place Python may write)."""
        (user,) = [i.arguments for i in dockerfile_instructions() if i.keyword == "USER"][-1:]
        uid = int(user.split(":")[0])
        for where, spec, container in manifests.containers():
            if container["image"].rsplit("/", 1)[-1].split(":")[0] != OUR_IMAGE:
                continue
            context = {**(spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
            assert context.get("runAsUser") == uid, (
                f"{where}: runAsUser {context.get('runAsUser')}, image {uid}"
            )
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp is not an emptyDir"

    def test_no_pod_gets_service_links_or_an_api_token(self, manifests: Manifests) -> None:
        """Service `gateway` would set GATEWAY_PORT=tcp://... in every pod; no pod talks to the API."""
        for workload in manifests.workloads():
            spec = workload["spec"]["template"]["spec"]
            assert spec.get("enableServiceLinks") is False, f"{describe(workload)}: enableServiceLinks"
            assert spec.get("automountServiceAccountToken") is False, (
                f"{describe(workload)}: API token mounted"
            )

    def test_the_gateway_drains_within_the_termination_grace_period(
        self, manifests: Manifests, config: GatewayConfig
    ) -> None:
        """preStop, then the drain on SIGTERM (gateway.drain_timeout), all before the SIGKILL."""
        spec = manifests.workload("gateway")["spec"]["template"]["spec"]
        container = manifests.container("gateway")
        pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds")
        assert pre_stop, "the gateway has no preStop sleep: new requests would reach a draining pod"
        needed = pre_stop + config.gateway.drain_timeout + SHUTDOWN_MARGIN
        grace = spec.get("terminationGracePeriodSeconds", 30)
        assert grace >= needed, (
            f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain + margin = {needed}"
        )

    def test_prometheus_scrapes_the_gateway_metrics(
        self, manifests: Manifests, config: GatewayConfig
    ) -> None:
        annotations = manifests.workload("gateway")["spec"]["template"]["metadata"].get("annotations") or {}
        ports = [p["containerPort"] for p in manifests.container("gateway")["ports"]]
        assert annotations.get(f"{SCRAPE}scrape") == "true", annotations
        assert int(annotations.get(f"{SCRAPE}port", 0)) in ports, (
            f"scrape port {annotations.get(f'{SCRAPE}port')}"
        )
        assert annotations.get(f"{SCRAPE}path") == "/metrics" and config.http.metrics


class TestScaling:
    def test_the_gateway_has_a_disruption_budget_that_never_blocks_a_drain(
        self, manifests: Manifests
    ) -> None:
        (budget,) = manifests.of_kind("PodDisruptionBudget")
        spec = budget["spec"]
        assert selected_pods(manifests, spec["selector"]["matchLabels"]) == [manifests.workload("gateway")]
        assert int(spec.get("maxUnavailable", 0)) >= 1, f"maxUnavailable: {spec}"
        assert spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow", "unready pods would block node drains"

    def test_the_autoscaler_owns_the_gateway_replica_count(self, manifests: Manifests) -> None:
        """`replicas` in the Deployment would reset the autoscaler's count on every apply."""
        (autoscaler,) = manifests.of_kind("HorizontalPodAutoscaler")
        target = autoscaler["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", "gateway")
        assert 1 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
        assert "replicas" not in manifests.workload("gateway")["spec"], "the gateway Deployment sets replicas"

    def test_dev_runs_one_replica_of_everything(self, rendered: dict[str, Manifests]) -> None:
        dev = rendered["dev"]
        (autoscaler,) = dev.of_kind("HorizontalPodAutoscaler")
        assert (autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]) == (1, 1)
        counts = {w["metadata"]["name"]: w["spec"].get("replicas", 1) for w in dev.workloads()}
        assert set(counts.values()) == {1}, counts
        assert {"postgres", "redis"} <= set(counts), "dev runs PostgreSQL and Redis in the cluster"

    def test_prod_runs_several_gateways_and_no_database_of_its_own(
        self, rendered: dict[str, Manifests]
    ) -> None:
        prod = rendered["prod"]
        (autoscaler,) = prod.of_kind("HorizontalPodAutoscaler")
        assert autoscaler["spec"]["minReplicas"] >= 2
        assert not IN_CLUSTER_ONLY & {w["metadata"]["name"] for w in prod.workloads()}


class TestSecrets:
    def test_no_secret_is_rendered(self, manifests: Manifests) -> None:
        """Secrets are created in the cluster by the operator; the manifests only refer to them."""
        assert not manifests.of_kind("Secret"), [describe(s) for s in manifests.of_kind("Secret")]

    def test_every_secret_value_is_a_reference(self, manifests: Manifests) -> None:
        """Secret-looking variables, URL passwords, password flags: a secretKeyRef or `$(VAR)` of one."""
        for where, _, container in manifests.containers():
            for entry in container.get("env", []):
                value, name = entry.get("value"), entry["name"]
                if value is None:
                    continue
                if SECRET_NAME.search(name):
                    assert re.fullmatch(r"\$\((\w+)\)", value), f"{where}: {name} is a literal: {value!r}"
                password = urlsplit(value).password if "://" in value else None
                if password is not None:
                    assert re.fullmatch(r"\$\((\w+)\)", password), f"{where}: {name} has a literal password"
                for ref in references(value):
                    assert secret_defined_before(container, ref, name), (
                        f"{where}: {name} uses $({ref}), which is not a Secret variable listed before it"
                    )
            args = container.get("args", [])
            for flag, value in itertools.pairwise(args):
                if flag in SECRET_FLAGS:
                    assert re.fullmatch(r"\$\((\w+)\)", value), f"{where}: {flag} is given a literal"

    def test_the_gateway_config_holds_no_key(self) -> None:
        keys = yaml.safe_load(CLUSTER_CONFIG.read_text())["auth"]["api_keys"]
        for principal, entry in keys.items():
            assert re.fullmatch(r"\$\{\w+\}", str(entry["key"])), (
                f"auth.api_keys.{principal}.key is a literal"
            )

    def test_every_secret_referred_to_is_created_by_the_documented_commands(
        self, manifests: Manifests
    ) -> None:
        """`kubectl -n NS create secret ...` in the docs creates every (Secret, key) the overlay reads."""
        namespace = manifests.namespace()
        needed = {(name, key) for _, _, c in manifests.containers() for _, name, key in secret_refs(c)}
        needed |= {
            (tls["secretName"], TLS) for i in manifests.of_kind("Ingress") for tls in i["spec"].get("tls", [])
        }
        missing = needed - documented_secrets(namespace)
        assert not missing, f"read in {namespace} but never created in the docs: {sorted(missing)}"


class TestGatewayConfig:
    def test_the_mounted_config_passes_config_validation(self, config: GatewayConfig) -> None:
        """`gateway check`'s validation: the loader, every `${VAR}` set as the pod sets it."""
        assert set(config.backends) == set(BACKENDS)
        assert config.auth is not None and config.auth.api_keys

    def test_the_config_is_the_compose_routing_with_service_names(self, manifests: Manifests) -> None:
        """deploy/gateway.compose.yaml with Service names for compose names; only allowed_hosts may grow."""
        compose = yaml.safe_load(DEPLOY_CONFIG.read_text())
        cluster = yaml.safe_load(CLUSTER_CONFIG.read_text())
        services = compose_config_by_yaml({})["services"]
        names = {}
        for backend in compose["backends"].values():
            host = str(urlsplit(backend["url"]).hostname)
            module = services[host]["command"][services[host]["command"].index("-m") + 1]
            (workload,) = [
                w
                for w in manifests.workloads()
                if module in manifests.container(w["metadata"]["name"]).get("args", [])
            ]
            (service,) = [
                s["metadata"]["name"]
                for s in manifests.of_kind("Service")
                if workload in selected_pods(manifests, s["spec"]["selector"])
            ]
            names[host] = service
        for backend in compose["backends"].values():
            url = urlsplit(backend["url"])
            backend["url"] = url._replace(netloc=f"{names[url.hostname]}:{url.port}").geturl()
        compose["egress"]["allow"] = [names.get(n, n) for n in compose["egress"]["allow"]]
        compose_hosts = compose["http"].pop("allowed_hosts")
        cluster_hosts = cluster["http"].pop("allowed_hosts")
        missing = [h for h in compose_hosts if h not in cluster_hosts]
        assert not missing, f"{CLUSTER_CONFIG.name} no longer accepts the compose Host names {missing}"
        left, right = flatten(compose), flatten(cluster)
        drift = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
        assert not drift, "\n".join(
            [f"{CLUSTER_CONFIG.relative_to(ROOT)} drifted from {DEPLOY_CONFIG.relative_to(ROOT)}:"]
            + [f"  {k}: compose {left.get(k)!r}, kubernetes {right.get(k)!r}" for k in drift]
        )

    def test_each_backend_url_reaches_that_backend_through_its_service(
        self, manifests: Manifests, config: GatewayConfig
    ) -> None:
        """Service port -> container port -> MCP_PORT, and the backend's Host guard accepts the name."""
        for key, backend in config.backends.items():
            url = urlsplit(backend.url or "")
            assert (backend.kind, url.path) == ("http", "/mcp"), f"{key}: {backend.url}"
            service = manifests.get("Service", str(url.hostname))
            (port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port] or [None]
            assert port is not None, f"{key}: Service {url.hostname} has no port {url.port}"
            (workload,) = selected_pods(manifests, service["spec"]["selector"])
            container = manifests.container(workload["metadata"]["name"])
            ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
            target = port.get("targetPort", port["port"])
            number = ports.get(target) if isinstance(target, str) else target
            assert number == url.port, f"{key}: Service port {url.port} leads to container port {number}"
            env = env_entries(container)
            assert env["MCP_PORT"]["value"] == str(number), f"{key}: MCP_PORT {env['MCP_PORT']} != {number}"
            assert f"backends.{key}" in container["args"], (
                f"Service {url.hostname} does not run backends.{key}"
            )
            pairs = list(itertools.pairwise(container["args"]))
            assert ("--allowed-host", url.hostname) in pairs, f"{key}: --allowed-host {url.hostname} missing"

    def test_the_egress_policy_allows_each_backend_by_name(self, config: GatewayConfig) -> None:
        guard = Egress(config.egress.allow)
        for backend in config.backends.values():
            url = urlsplit(backend.url or "")
            assert url.hostname in config.egress.allow, f"{url.hostname} is not allowed by name"
            anyio.run(guard.check_host, url.hostname, url.port)

    def test_the_gateway_accepts_the_host_the_ingress_serves(
        self, manifests: Manifests, config: GatewayConfig
    ) -> None:
        """The Ingress passes the public Host through; the gateway's Host guard must accept it."""
        for ingress in manifests.of_kind("Ingress"):
            for rule in ingress["spec"]["rules"]:
                accepted = [h for h in config.http.allowed_hosts if fnmatch.fnmatchcase(rule["host"], h)]
                assert accepted, (
                    f"Host {rule['host']} is not in http.allowed_hosts {config.http.allowed_hosts}"
                )


class TestAgreementWithCompose:
    def test_images_are_compose_images_with_our_tag_pinned_to_the_project_version(
        self, manifests: Manifests, compose: dict[str, Any]
    ) -> None:
        """Ours: the compose image's repository at pyproject's version; others: compose's exactly."""
        version = project_version()
        for workload in manifests.workloads():
            name = workload["metadata"]["name"]
            image = manifests.container(name)["image"]
            service = compose[name]
            assert ":" in image.rsplit("/", 1)[-1] or "@" in image, f"{name}: {image} has no tag"
            tag = image.rsplit(":", 1)[-1]
            assert tag != "latest", f"{name}: {image} is not pinned"
            if "build" in service:
                repository = service["image"].split(":")[0]
                assert image.rsplit("/", 1)[-1] == f"{repository}:{version}", (
                    f"{name}: {image} is not {repository}:{version} (pyproject.toml's version)"
                )
            else:
                assert image == service["image"], f"{name}: {image}, compose runs {service['image']}"

    def test_ports_are_the_compose_ports(self, manifests: Manifests, compose: dict[str, Any]) -> None:
        gateway = compose["gateway"]
        port = int(gateway["environment"]["GATEWAY_PORT"])
        assert [int(p["target"]) for p in gateway["ports"]] == [port]
        assert [p["containerPort"] for p in manifests.container("gateway")["ports"]] == [port]
        assert [p["port"] for p in manifests.get("Service", "gateway")["spec"]["ports"]] == [port]
        for name in BACKENDS:
            expose = [int(p) for p in compose[name]["expose"]]
            assert [p["containerPort"] for p in manifests.container(name)["ports"]] == expose, name
            assert [p["port"] for p in manifests.get("Service", name)["spec"]["ports"]] == expose, name
        for service in compose.values():
            for value in service["environment"].values():
                url = urlsplit(value) if "://" in value else None
                if url is None or url.hostname not in compose or not manifests.has("Service", url.hostname):
                    continue
                ports = [p["port"] for p in manifests.get("Service", url.hostname)["spec"]["ports"]]
                assert url.port in ports, (
                    f"compose reaches {url.hostname}:{url.port}, its Service has {ports}"
                )

    def test_commands_are_the_compose_commands(self, manifests: Manifests, compose: dict[str, Any]) -> None:
        """compose `command` is the container's `args` (the image's entrypoint stays)."""
        for name, service in compose.items():
            if name in IN_CLUSTER_ONLY and not manifests.has("Service", name):
                continue
            container = manifests.container(name)
            assert "command" not in container, f"{name}: overrides the image's entrypoint"
            assert container.get("args") == service.get("command"), (
                f"{name}: args {container.get('args')}, compose command {service.get('command')}"
            )
            defined = set(env_entries(container))
            for arg in container.get("args") or []:
                assert set(references(arg)) <= defined, f"{name}: {arg} refers to an undefined variable"

    def test_environment_is_the_compose_environment(
        self, manifests: Manifests, compose: dict[str, Any], overlay: str
    ) -> None:
        """Compose's variables and values; secrets by reference; prod's URLs from Secrets; no extras."""
        problems = []
        for name, service in compose.items():
            if name in IN_CLUSTER_ONLY and not manifests.has("Service", name):
                continue
            container = manifests.container(name)
            entries = env_entries(container)
            refs = {v: key for v, _, key in secret_refs(container)}
            for variable, expected in service["environment"].items():
                entry = entries.get(variable)
                whole = re.fullmatch(r"\$\((\w+)\)", expected)
                if entry is None:
                    problems.append(f"{name}: {variable} is missing (compose: {expected!r})")
                elif variable in EXTERNAL[overlay]:
                    if refs.get(variable) != variable:
                        problems.append(
                            f"{name}: {variable} must come from a Secret (key {variable}) in {overlay}"
                        )
                elif whole and refs.get(variable) == whole.group(1):
                    continue
                elif entry.get("value") != expected:
                    problems.append(
                        f"{name}: {variable}={entry.get('value', entry.get('valueFrom'))!r}, compose {expected!r}"
                    )
            helpers = {r for e in entries.values() for r in references(e.get("value", ""))}
            helpers |= {r for a in container.get("args") or [] for r in references(a)}
            extra = set(entries) - set(service["environment"]) - KUBERNETES_ONLY_ENV - (helpers & set(refs))
            if extra:
                problems.append(f"{name}: not in compose: {sorted(extra)}")
        assert not problems, "\n".join(problems)


class TestNetworkPolicies:
    @pytest.fixture(scope="class")
    def policies(self, manifests: Manifests) -> list[dict[str, Any]]:
        return manifests.of_kind("NetworkPolicy")

    @staticmethod
    def sources(manifests: Manifests) -> list[Pod | None]:
        return [*pods(manifests), OUTSIDE]

    @staticmethod
    def name(pod: Pod | None) -> str:
        return pod.name if pod is not None else "outside the namespace"

    def only(
        self,
        manifests: Manifests,
        policies: list[dict[str, Any]],
        target: Pod | None,
        port: int,
        allowed: set[str],
    ) -> None:
        reach = {
            self.name(s)
            for s in self.sources(manifests)
            if s != target and can_connect(policies, s, target, port)
        }
        assert reach == allowed, (
            f"{self.name(target)}:{port} is reachable from {sorted(reach)}, expected {sorted(allowed)}"
        )

    def test_everything_is_denied_unless_a_policy_allows_it(self, policies: list[dict[str, Any]]) -> None:
        """A default-deny policy selects every pod, both ways: a pod added later is closed too."""
        deny_all = [
            p["metadata"]["name"]
            for p in policies
            if p["spec"]["podSelector"] == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
        ]
        assert deny_all, "no NetworkPolicy denies all ingress and egress by default"

    def test_only_the_gateway_reaches_the_backends(
        self, manifests: Manifests, policies: list[dict[str, Any]]
    ) -> None:
        for pod in pods(manifests):
            if pod.name in BACKENDS:
                self.only(manifests, policies, pod, pod.ports["mcp"], {"gateway"})

    def test_only_lookup_reaches_postgresql(
        self, manifests: Manifests, policies: list[dict[str, Any]]
    ) -> None:
        """The in-cluster one (dev) or one outside (prod): no other pod may connect to 5432 at all."""
        database = {p.name: p for p in pods(manifests)}.get("postgres")
        if database is not None:
            self.only(manifests, policies, database, 5432, {"lookup"})
        self.only(manifests, policies, OUTSIDE, 5432, {"lookup"})

    def test_only_the_gateway_reaches_redis(
        self, manifests: Manifests, policies: list[dict[str, Any]]
    ) -> None:
        cache = {p.name: p for p in pods(manifests)}.get("redis")
        if cache is not None:
            self.only(manifests, policies, cache, 6379, {"gateway"})
        self.only(manifests, policies, OUTSIDE, 6379, {"gateway"})

    def test_clients_and_prometheus_reach_the_gateway(
        self, manifests: Manifests, policies: list[dict[str, Any]]
    ) -> None:
        gateway = {p.name: p for p in pods(manifests)}["gateway"]
        assert can_connect(policies, OUTSIDE, gateway, gateway.ports["http"])

    def test_every_pod_resolves_names_and_reaches_nothing_else_outside(
        self, manifests: Manifests, policies: list[dict[str, Any]]
    ) -> None:
        for pod in pods(manifests):
            assert can_connect(policies, pod, OUTSIDE, 53), f"{pod.name} cannot reach the cluster DNS"
            assert not can_connect(policies, pod, OUTSIDE, 443), f"{pod.name} may open connections anywhere"


class TestSessionAffinity:
    @pytest.fixture(scope="class")
    def ingress(self, rendered: dict[str, Manifests]) -> dict[str, Any]:
        (ingress,) = rendered["prod"].of_kind("Ingress")
        return ingress

    def test_prod_keeps_each_session_on_the_replica_that_issued_its_id(self, ingress: dict[str, Any]) -> None:
        """Mcp-Session-Id learnt from the response (initialize has none), matched on each request."""
        assert ingress["spec"]["ingressClassName"] == "haproxy"
        snippet = ingress["metadata"]["annotations"]["haproxy.org/backend-config-snippet"].splitlines()
        lines = [" ".join(line.split()) for line in snippet]
        assert any(line.startswith("stick-table type string ") for line in lines), lines
        assert "stick store-response res.hdr(mcp-session-id)" in lines, lines
        assert "stick match req.hdr(mcp-session-id)" in lines, lines
        retries = [line for line in lines if line.startswith("retry-on")]
        assert retries in ([], ["retry-on conn-failure"]), f"retries after a request was sent: {retries}"

    def test_the_ingress_publishes_mcp_only(self, ingress: dict[str, Any]) -> None:
        """/metrics has no authentication and /healthz, /readyz are for the cluster."""
        paths = [
            (p["path"], p["backend"]["service"]["name"])
            for r in ingress["spec"]["rules"]
            for p in r["http"]["paths"]
        ]
        assert paths == [("/mcp", "gateway")], paths
        assert ingress["spec"].get("tls"), "the Ingress serves no TLS"

    def test_dev_has_no_ingress(self, rendered: dict[str, Manifests]) -> None:
        assert not rendered["dev"].of_kind("Ingress")


class TestFly:
    @pytest.fixture(scope="class")
    def fly(self) -> dict[str, Any]:
        return tomllib.loads(FLY_TOML.read_text())

    @pytest.fixture(scope="class")
    def fly_config(self, fly: dict[str, Any]) -> GatewayConfig:
        """fly.toml's gateway config with its [env] and a value for each documented secret."""
        keys = {name: secrets.token_hex(16) for name in documented_fly_secrets()}
        return parse_config(
            fly["env"]["GATEWAY_CONFIG_YAML"], source="fly.toml", environ={**fly["env"], **keys}
        )

    def test_the_process_writes_the_config_where_gateway_config_points(self, fly: dict[str, Any]) -> None:
        shell, flag, script = shlex.split(fly["processes"]["app"])
        assert (shell, flag) == ("sh", "-c")
        assert '> "$GATEWAY_CONFIG"' in script and '"$GATEWAY_CONFIG_YAML"' in script
        assert script.endswith("exec gateway run"), "the gateway must replace the shell to get SIGTERM"

    def test_the_config_passes_config_validation(
        self, fly: dict[str, Any], fly_config: GatewayConfig
    ) -> None:
        """The gateway and its stdio backends, behind API keys, accepting <app>.fly.dev as Host."""
        assert set(fly_config.backends) == set(BACKENDS) and fly_config.auth is not None
        host = fly["env"]["GATEWAY_PUBLIC_HOST"]
        assert host == f"{fly['app']}.fly.dev" and host in fly_config.http.allowed_hosts

    def test_the_secrets_it_needs_are_the_documented_ones(self, fly: dict[str, Any]) -> None:
        """What the loader reports missing without secrets is what the docs' `fly secrets set` sets."""
        with pytest.raises(ConfigError) as caught:
            parse_config(fly["env"]["GATEWAY_CONFIG_YAML"], source="fly.toml", environ=fly["env"])
        needed = {
            m.group(1)
            for p in caught.value.problems
            for m in [re.search(r"variable (\w+) is not set", p)]
            if m
        }
        documented = documented_fly_secrets()
        assert needed and needed <= documented, f"needed {sorted(needed)}, documented {sorted(documented)}"

    def test_it_serves_the_compose_port_and_drains_before_it_is_killed(
        self, fly: dict[str, Any], fly_config: GatewayConfig, compose: dict[str, Any]
    ) -> None:
        service = fly["http_service"]
        port = int(compose["gateway"]["environment"]["GATEWAY_PORT"])
        assert service["internal_port"] == int(fly["env"]["GATEWAY_PORT"]) == port
        assert [c["path"] for c in service["checks"]] == ["/readyz"]
        assert fly["kill_signal"] == "SIGTERM", "Fly's default SIGINT, then 5 s, leaves no time to drain"
        assert fly["kill_timeout"] >= fly_config.gateway.drain_timeout + SHUTDOWN_MARGIN
