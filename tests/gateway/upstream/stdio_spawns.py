"""Recording the processes the SDK's `stdio_client` starts for the gateway's stdio links."""

from __future__ import annotations

from typing import Any

import pytest

import gateway.upstream.links.stdio as stdio_link


def spawns(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The parameters of every process `stdio_client` starts from now on (it still starts them)."""
    started: list[Any] = []
    real = stdio_link.stdio_client

    def recording(parameters: Any, **kwargs: Any) -> Any:
        started.append(parameters)
        return real(parameters, **kwargs)

    monkeypatch.setattr(stdio_link, "stdio_client", recording)
    return started
