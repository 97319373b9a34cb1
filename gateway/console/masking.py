"""The effective configuration as the console shows it: every secret masked.

The walk follows the typed config tree itself, not the JSON it dumps to, so what counts as a
secret is decided by type and field, never by guessing from a value: every `SecretStr` (API keys,
backend and OpenAPI headers and bearer tokens, the JWT key, the Redis URL), every value of a
backend's `env` (a database URL carries its password), and API key digests. What is masked shows
as `MASK`; the rest is the JSON the model dumps to, defaults included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

MASK = "••••••"
MASKED_MAPPINGS = frozenset({"env"})
"""Fields whose every value is masked (a backend's environment)."""
MASKED_FIELDS = frozenset({"key_sha256"})
"""Fields masked whatever their type."""


def masked(model: BaseModel) -> dict[str, Any]:
    """The model as JSON-ready data, secrets replaced by `MASK`."""
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in MASKED_FIELDS and value is not None:
            out[name] = MASK
        elif name in MASKED_MAPPINGS and isinstance(value, Mapping):
            out[name] = {str(k): MASK for k in value}
        else:
            out[name] = _value(value)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, BaseModel):
        return masked(value)
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
