"""One exception tree, one mapping: every gateway error becomes a JSON-RPC error in one place."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

import gateway
from gateway.errors import GatewayError, to_mcp_error
from tests.conftest import ROOT

JSON_RPC_CODES = {-32600, -32601, -32602, -32603}
SAMPLES: dict[str, Any] = {
    "message": "something went wrong",
    "backend": "analytics",
    "problems": ["backends.x: wrong"],
    "reason": "rate_limited",
    "code": -32602,
    "retry_after": 1.5,
}


def _every_subclass(cls: type[GatewayError]) -> list[type[GatewayError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_every_subclass(sub)]
    return found


def _all_errors() -> list[type[GatewayError]]:
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return [GatewayError, *_every_subclass(GatewayError)]


def _instance(cls: type[GatewayError]) -> GatewayError:
    arguments = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in SAMPLES:
            arguments[name] = SAMPLES[name]
        elif parameter.default is inspect.Parameter.empty:
            raise AssertionError(f"{cls.__name__}: no sample for required parameter {name!r}")
    return cls(**arguments)


@pytest.mark.parametrize("cls", _all_errors(), ids=lambda cls: cls.__name__)
def test_every_gateway_error_maps_to_a_json_rpc_error(cls: type[GatewayError]) -> None:
    """Its code is JSON-RPC's or the gateway's own range, its message the caller's, its data JSON."""
    error = _instance(cls)
    mapped = to_mcp_error(error)
    assert isinstance(mapped, MCPError)
    assert mapped.error.code == error.code
    assert mapped.error.code in JSON_RPC_CODES or -32099 <= mapped.error.code <= -32000
    assert mapped.error.message == error.message
    json.dumps(mapped.error.data)


def test_the_docstring_draws_every_error() -> None:
    """`gateway.errors`' docstring is the tree: every error class there is appears in it."""
    from gateway import errors

    named = {word for line in (errors.__doc__ or "").splitlines() for word in line.split()}
    defined = {cls.__name__ for cls in _all_errors()}
    assert defined <= named, f"not in the drawn tree: {sorted(defined - named)}"


def test_only_the_mapping_builds_json_rpc_errors() -> None:
    """No module but `gateway.errors` constructs an `MCPError` itself."""
    builders = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MCPError":
                builders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert builders == ["gateway/errors.py:" + str(_mapping_line())], builders


def _mapping_line() -> int:
    source = (ROOT / "gateway/errors.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "MCPError":
            return node.lineno
    raise AssertionError("gateway.errors builds no MCPError")
