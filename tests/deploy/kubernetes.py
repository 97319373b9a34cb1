"""The Kubernetes deployment as data: each overlay of deploy/kubernetes rendered by `kubectl
kustomize` (no flags: the default load restrictor), checked against the API schemas offline with
kubernetes-validate, and read the way a cluster reads it: a container's environment resolved
(`valueFrom`, `$(VAR)`), and which pod may open a connection to which port under the rendered
NetworkPolicies.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.conftest import ROOT

KUSTOMIZE_DIR = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "prod")
CLUSTER_CONFIG = KUSTOMIZE_DIR / "base" / "config" / "gateway.yaml"
DOCS = (ROOT / "README.md",)
"""Where the operator's commands are written."""
FLY_TOML = ROOT / "fly.toml"
TLS = "(a kubernetes.io/tls Secret)"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
OLDEST_KUBERNETES = "1.31"
"""The oldest API the manifests must be valid for (PDB unhealthyPodEvictionPolicy is GA in 1.31)."""
KUBERNETES_VERSIONS = (OLDEST_KUBERNETES, kubernetes_validate.utils.latest_version())
KUSTOMIZE_MAJOR = 5
"""The overlays use `labels`, `components` and `replacements`: kustomize v5 (kubectl 1.27 and later)."""
KUBECTL_HINT = (
    "the Kubernetes tests render the overlays with `kubectl kustomize` and need kubectl 1.27 or later "
    "(kustomize v5); Debian's kubernetes-client is 1.20 and cannot render them. Install kubectl: "
    "https://kubernetes.io/docs/tasks/tools/"
)

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@functools.cache
def kubectl() -> str:
    """The kubectl executable; a missing or too old one fails the tests (never skips them)."""
    found = shutil.which("kubectl")
    if found is None:
        raise AssertionError(f"kubectl is not installed: {KUBECTL_HINT}")
    done = subprocess.run(
        [found, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30, check=False
    )
    try:
        kustomize = str(json.loads(done.stdout)["kustomizeVersion"])
    except (ValueError, KeyError):
        raise AssertionError(f"{found} does not report its kustomize version: {KUBECTL_HINT}") from None
    if int(kustomize.lstrip("v").split(".")[0]) < KUSTOMIZE_MAJOR:
        raise AssertionError(f"{found} embeds kustomize {kustomize}: {KUBECTL_HINT}")
    return found


def render(directory: Path) -> Manifests:
    """`kubectl kustomize <directory>`, parsed."""
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory.relative_to(ROOT)} failed:\n{done.stderr}")
    return Manifests([doc for doc in yaml.safe_load_all(done.stdout) if doc])


def schema_problem(obj: dict[str, Any], version: str) -> str | None:
    """Why the API server of `version` would refuse `obj` (strict: unknown fields too), or None."""
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path) or "(top level)"
        return f"{describe(obj)}: {where}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return f"{describe(obj)}: {error.message}"
    return None


def describe(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


@dataclass(frozen=True)
class Manifests:
    """The objects one overlay renders."""

    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["metadata"]["name"] == name for o in self.of_kind(kind))

    def workloads(self) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in WORKLOAD_KINDS]

    def workload(self, name: str) -> dict[str, Any]:
        found = [w for w in self.workloads() if w["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one Deployment or StatefulSet named {name}, found {len(found)}"
        return found[0]

    def containers(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(workload/container, pod spec, container) for every container, init containers too."""
        for workload in self.workloads():
            spec = workload["spec"]["template"]["spec"]
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                yield f"{workload['metadata']['name']}/{container['name']}", spec, container

    def container(self, workload: str) -> dict[str, Any]:
        """The one container of a workload."""
        (container,) = self.workload(workload)["spec"]["template"]["spec"]["containers"]
        return dict(container)

    def config_map(self, name: str) -> dict[str, str]:
        """The data of a ConfigMap, by the name a pod refers to (with the generator's hash)."""
        return dict(self.get("ConfigMap", name).get("data") or {})

    def namespace(self) -> str:
        (namespace,) = self.of_kind("Namespace")
        return str(namespace["metadata"]["name"])


def secret_refs(container: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(variable, Secret name, key) of every secretKeyRef in a container's env."""
    refs = []
    for entry in container.get("env", []):
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs.append((entry["name"], ref["name"], ref["key"]))
    return refs


def resolve_env(
    container: dict[str, Any], manifests: Manifests, secret: Callable[[str, str], str]
) -> dict[str, str]:
    """The environment a container starts with: `value` with `$(VAR)` expanded against the
    variables defined before it (an undefined one stays as written, as the kubelet leaves it),
    Secrets read through `secret(name, key)`, ConfigMaps from the rendered objects."""
    assert not container.get("envFrom"), f"{container['name']}: envFrom hides which variables it sets"
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        source = entry.get("valueFrom")
        if source is None:
            env[entry["name"]] = expand(entry.get("value", ""), env)
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[entry["name"]] = secret(ref["name"], ref["key"])
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = manifests.config_map(ref["name"])
            assert ref["key"] in data, f"ConfigMap {ref['name']} has no key {ref['key']}"
            env[entry["name"]] = data[ref["key"]]
        else:
            raise AssertionError(f"{container['name']}: {entry['name']} comes from {sorted(source)}")
    return env


def expand(value: str, defined: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion (`$$` escapes a `$`)."""
    parts = value.split("$$")
    return "$".join(_REFERENCE.sub(lambda m: defined.get(m.group(1), m.group(0)), p) for p in parts)


def references(value: str) -> list[str]:
    """The variables a `value` refers to with `$(VAR)`."""
    return _REFERENCE.findall(value.replace("$$", ""))


def documented_secrets(namespace: str) -> set[tuple[str, str]]:
    """(Secret, key) pairs the docs create in `namespace`: `kubectl -n <namespace> create secret
    generic <name> --from-literal=<key>=...`, and (<name>, TLS) for `create secret tls <name>`."""
    created: set[tuple[str, str]] = set()
    command = re.compile(rf"kubectl\s+-n\s+{re.escape(namespace)}\s+create\s+secret\s+(generic|tls)\s+(\S+)")
    for path in DOCS:
        if not path.exists():
            continue
        for line in path.read_text().replace("\\\n", " ").splitlines():
            found = command.search(line)
            if found and found.group(1) == "tls":
                created.add((found.group(2), TLS))
            elif found:
                created |= {(found.group(2), key) for key in re.findall(r"--from-literal=(\w+)=", line)}
    return created


def documented_fly_secrets() -> set[str]:
    """The variables the docs set with `fly secrets set NAME=...`."""
    names: set[str] = set()
    for path in DOCS:
        if path.exists():
            for line in path.read_text().replace("\\\n", " ").splitlines():
                if "fly secrets set" in line:
                    names |= set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", line.split("fly secrets set", 1)[1]))
    return names


# --- NetworkPolicy: who may open a connection to whom -------------------------------------------


@dataclass(frozen=True)
class Pod:
    """A pod of the namespace, as NetworkPolicies see it."""

    name: str
    labels: dict[str, str] = field(hash=False)
    ports: dict[str, int] = field(hash=False)
    """Named container ports."""


OUTSIDE = None
"""Anything outside the namespace: the ingress controller, Prometheus, the cluster DNS, the
internet, an external PostgreSQL or Redis."""


def pods(manifests: Manifests) -> list[Pod]:
    found = []
    for workload in manifests.workloads():
        template = workload["spec"]["template"]
        ports = {
            p["name"]: int(p["containerPort"])
            for c in template["spec"]["containers"]
            for p in c.get("ports", [])
            if "name" in p
        }
        found.append(Pod(workload["metadata"]["name"], dict(template["metadata"]["labels"]), ports))
    return found


def can_connect(policies: list[dict[str, Any]], source: Pod | None, target: Pod | None, port: int) -> bool:
    """Whether `source` may open a TCP connection to `target` on `port` (None: outside the
    namespace), both its egress and the target's ingress considered."""
    if source is not None and not _allowed(policies, "Egress", source, target, port, target):
        return False
    return target is None or _allowed(policies, "Ingress", target, source, port, target)


def _allowed(
    policies: list[dict[str, Any]], direction: str, pod: Pod, peer: Pod | None, port: int, target: Pod | None
) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p["spec"]
        for p in policies
        if direction in _policy_types(p["spec"]) and _selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True  # no policy selects the pod in this direction: Kubernetes allows everything
    for spec in selecting:
        for rule in spec.get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(p, peer) for p in peers)) and _port_matches(
                rule.get("ports"), port, target
            ):
                return True
    return False


def _policy_types(spec: dict[str, Any]) -> list[str]:
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _peer_matches(peer: dict[str, Any], pod: Pod | None) -> bool:
    if "ipBlock" in peer:
        return pod is None
    if "namespaceSelector" in peer:
        # Only `{}` is known to include this namespace (its labels are the cluster's business).
        if pod is None:
            return True
        if peer["namespaceSelector"]:
            return False
        return _selects(peer.get("podSelector") or {}, pod.labels)
    return pod is not None and _selects(peer["podSelector"], pod.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int, target: Pod | None) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, int) and (wanted == port or wanted <= port <= entry.get("endPort", wanted)):
            return True
        if isinstance(wanted, str) and target is not None and target.ports.get(wanted) == port:
            return True
    return False


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        matched = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not matched:
            return False
    return True
