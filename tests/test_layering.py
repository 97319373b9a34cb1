"""The house holds its shape: imports go one way, stage by stage, and nothing imports in a cycle.

Every import counts: at the top of a module, inside a function, under `TYPE_CHECKING`. The
stages, from the door inward (a module may import its own stage and the stages below it):

    cli → commands, reload → app → front, console → relay → workflows → dispatch → policies → routing
        → upstream → resilience → base (config, errors, methods, principal, egress, tasks,
          observability)

The backends are separate servers: none imports the gateway or another backend.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import ROOT

STAGES: list[tuple[str, ...]] = [
    ("gateway.cli", "gateway.__main__"),
    ("gateway.commands", "gateway.reload"),
    ("gateway.app",),
    ("gateway.front", "gateway.console"),
    ("gateway.relay",),
    ("gateway.workflows",),
    ("gateway.dispatch",),
    ("gateway.policies",),
    ("gateway.routing",),
    ("gateway.upstream",),
    ("gateway.resilience",),
    (
        "gateway.config",
        "gateway.errors",
        "gateway.methods",
        "gateway.principal",
        "gateway.egress",
        "gateway.tasks",
        "gateway.observability",
        "gateway",
    ),
]


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every module of `packages` under `root`."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that module `name` imports, anywhere in its body."""
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = node.module or ""
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                prefix = f"{anchor}.{node.module}" if node.module else anchor
            candidates = [prefix, *(f"{prefix}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                targets.add(candidate)
    return targets


def graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def stage_of(module: str) -> int:
    """The stage a gateway module belongs to (the longest matching prefix wins)."""
    best, depth = len(STAGES) - 1, -1
    for number, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = number, prefix.count(".")
    return best


def back_imports(edges: dict[str, set[str]]) -> list[str]:
    """Imports that climb back toward the door (a stage importing one above it)."""
    return sorted(
        f"{source} → {target}"
        for source, targets in edges.items()
        for target in targets
        if source.startswith("gateway")
        and target.startswith("gateway")
        and stage_of(target) < stage_of(source)
    )


def test_nothing_in_the_gateway_or_the_backends_imports_in_a_cycle() -> None:
    found = cycles(graph(ROOT, ["gateway", "backends"]))
    assert not found, "import cycles: " + "; ".join(", ".join(c) for c in found)


def test_imports_go_one_way_from_the_door_inward() -> None:
    found = back_imports(graph(ROOT, ["gateway"]))
    assert not found, "imports against the stage order:\n" + "\n".join(found)


def test_the_backends_stand_alone() -> None:
    """No backend imports the gateway or another backend (their shared `_serve` aside)."""
    shared = {"backends", "backends._serve"}
    crossing = []
    for source, targets in graph(ROOT, ["gateway", "backends"]).items():
        for target in targets:
            own = source.split(".")[:2] == target.split(".")[:2]
            if (source.startswith("gateway") and target.startswith("backends")) or (
                source.startswith("backends") and not (target in shared or own)
            ):
                crossing.append(f"{source} → {target}")
    assert not crossing, "\n".join(crossing)


def test_a_back_import_or_a_cycle_is_caught(tmp_path: Path) -> None:
    """The checks above can fail: a relay import inside dispatch, and a two-module cycle."""
    for package in ("gateway", "gateway/relay", "gateway/dispatch"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "gateway/relay/relay.py").write_text("from gateway.dispatch.forward import Dispatch\n")
    (tmp_path / "gateway/dispatch/forward.py").write_text(
        "def later():\n    from gateway.relay.relay import Relay\n"
    )
    edges = graph(tmp_path, ["gateway"])
    assert back_imports(edges) == ["gateway.dispatch.forward → gateway.relay.relay"]
    assert cycles(edges) == [["gateway.dispatch.forward", "gateway.relay.relay"]]
