"""The OpenAPI document of a REST API backend: read from a file or fetched from a URL, checked
to be OpenAPI 3, and the API's base URL found in it.

A file that is missing or a document that is not OpenAPI 3 is a `ConfigError` naming the YAML
path; a URL that does not answer raises the httpx2 error (the link tries again later).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio
import httpx2
import yaml

from gateway.config.openapi import OpenApiConfig, check_http_url
from gateway.egress import Egress
from gateway.errors import ConfigError
from gateway.upstream.http import hardened_client

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
DOCUMENT_ACCEPT = "application/json, application/yaml;q=0.9, */*;q=0.5"


def parse_document(text: str, *, where: str) -> dict[str, Any]:
    """JSON or YAML text → an OpenAPI 3 document (mapping keys as strings, as JSON has them)."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise ConfigError([f"{where}: not valid JSON (line {error.lineno}: {error.msg})"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError([f"{where}: not valid YAML ({line}{getattr(error, 'problem', None)})"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{where}: not an OpenAPI document (the top level is not a mapping)"])
    version = data.get("openapi")
    if isinstance(version, float):  # unquoted `openapi: 3.1` in YAML: say what fastmcp expects
        version = data["openapi"] = str(version)
    if not (isinstance(version, str) and version.startswith("3.")):
        found = f"swagger {data['swagger']}" if "swagger" in data else f"openapi: {version!r}"
        raise ConfigError(
            [f"{where}: not an OpenAPI 3.x document ({found}); convert Swagger 2.0 documents first"]
        )
    document: dict[str, Any] = _string_keys(data)
    return document


def _string_keys(value: Any) -> Any:
    """YAML reads `200:` as an integer; OpenAPI keys are strings."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


async def read_document_file(spec: str, *, base_dir: Path, where: str) -> dict[str, Any]:
    """The document in a file (relative to gateway.yaml's directory)."""
    path = _document_path(spec, base_dir)
    try:
        data = await anyio.Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{where}: file not found ({path})"]) from None
    except OSError as error:
        raise ConfigError(
            [f"{where}: cannot read {path} ({error.strerror or type(error).__name__})"]
        ) from None
    return parse_document(_decode(data, where=where), where=where)


def _document_path(spec: str, base_dir: Path) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_absolute() else base_dir / path


async def fetch_document(
    url: str, *, headers: Mapping[str, str], timeout: float, where: str, egress: Egress
) -> dict[str, Any]:
    """The document at a URL. Transport failures and non-2xx answers raise httpx2 errors (the
    caller may try again later); a document that is not OpenAPI raises `ConfigError`."""
    async with (
        hardened_client(
            headers={"accept": DOCUMENT_ACCEPT, **headers},
            timeout=httpx2.Timeout(timeout),
            egress=egress,
        ) as client,
        client.stream("GET", url) as response,
    ):
        if not response.is_success:
            await response.aclose()
            raise httpx2.HTTPStatusError(
                f"HTTP {response.status_code} {response.reason_phrase}"
                + (" (redirects are not followed: give the final URL)" if response.is_redirect else ""),
                request=response.request,
                response=response,
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ConfigError([f"{where}: the document is larger than {MAX_DOCUMENT_BYTES} bytes"])
    return parse_document(_decode(bytes(body), where=where), where=where)


def _decode(data: bytes, *, where: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError([f"{where}: not UTF-8 text"]) from None


def resolve_base_url(api: OpenApiConfig, document: Mapping[str, Any], *, where: str) -> str:
    """`base_url`, else the document's `servers[0].url` (variables at their defaults; a relative
    URL is resolved against the document's URL)."""
    if api.base_url is not None:
        return api.base_url.rstrip("/")
    servers = document.get("servers")
    server = servers[0] if isinstance(servers, list) and servers else None
    url = server.get("url") if isinstance(server, dict) else None
    if not isinstance(url, str) or not url:
        raise ConfigError([f"{where}: the document lists no `servers`; set `base_url`"])
    variables = server.get("variables") if isinstance(server, dict) else None
    for name, variable in (variables or {}).items():
        default = variable.get("default", "") if isinstance(variable, dict) else ""
        url = url.replace(f"{{{name}}}", str(default))
    if api.spec_url is not None:
        url = urljoin(api.spec_url, url)
    try:
        check_http_url(url, what=f"the document's servers[0].url ({url!r})")
    except ValueError as error:
        raise ConfigError([f"{where}: {error}; set `base_url`"]) from None
    return url.rstrip("/")
