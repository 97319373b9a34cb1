"""Configuration: `gateway.yaml` → one typed, frozen `GatewayConfig` (see `model`), loaded by
`load_config` (see `loader`), with process settings from `GATEWAY_*` variables (see `settings`)."""

from gateway.config.loader import LoadedConfig, load_config, parse_config
from gateway.config.model import BackendConfig, ComponentFilter, GatewayConfig, ResourceFilter
from gateway.config.settings import ProcessSettings

__all__ = [
    "BackendConfig",
    "ComponentFilter",
    "GatewayConfig",
    "LoadedConfig",
    "ProcessSettings",
    "ResourceFilter",
    "load_config",
    "parse_config",
]
