"""The lookup server's settings, from `LOOKUP_*` environment variables.

`LOOKUP_DATABASE_URL`: `sqlite:///relative/path.sqlite3`, `sqlite:////absolute/path`, or
`postgresql://user:password@host:5432/db`. The password never appears in `repr`, logs or errors.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/lookup.sqlite3"


class LookupSettings(BaseSettings):
    """Where the data lives and the limits of the tools."""

    model_config = SettingsConfigDict(env_prefix="LOOKUP_", extra="ignore")

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    max_top_k: int = 50
    max_document_chars: int = 20_000
    max_query_chars: int = 2_000


def redact(url: str) -> str:
    """The URL with any password replaced by `***` (safe to show)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))
