"""`make_link`: the link one backend's config asks for (the OpenAPI link, whose parser and
schema stack weigh 11 MB, is imported only by a config that has an `openapi:` backend)."""

from __future__ import annotations

from pathlib import Path

from gateway.config import BackendConfig
from gateway.egress import Egress
from gateway.upstream.links.base import Link
from gateway.upstream.links.module import ModuleLink
from gateway.upstream.links.stdio import StdioLink


def make_link(name: str, config: BackendConfig, *, base_dir: Path, namespace: str, egress: Egress) -> Link:
    """The link for one backend's config."""
    kind = config.kind
    if kind == "stdio":
        return StdioLink(name, config, base_dir=base_dir, namespace=namespace)
    if kind == "http":  # network links load their HTTP stacks only when a backend uses them
        from gateway.upstream.links.http import HttpLink

        return HttpLink(name, config, egress=egress)
    if kind == "sse":
        from gateway.upstream.links.sse import SseLink

        return SseLink(name, config, egress=egress)
    if kind == "openapi":
        from gateway.upstream.links.openapi.link import OpenApiLink

        return OpenApiLink(name, config, base_dir=base_dir, egress=egress)
    return ModuleLink(name, config, base_dir=base_dir)
