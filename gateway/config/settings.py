"""Process settings: where and how this gateway process runs, from `GATEWAY_*` variables.

Routing and policy live in gateway.yaml; these are the knobs that differ per process or
deployment (bind address, port, log level), so they come from the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ProcessSettings(BaseSettings):
    """`GATEWAY_HOST`, `GATEWAY_PORT`, `GATEWAY_CONFIG`, `GATEWAY_LOG_LEVEL`, `GATEWAY_TRANSPORT`."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    config: str = "gateway.yaml"
    transport: Literal["http", "stdio", "sse"] = "http"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = "text"
