"""The lookup server's settings, from `LOOKUP_*` environment variables.

`LOOKUP_DATABASE_URL`: `sqlite:///relative/path.sqlite3`, `sqlite:////absolute/path`, or
`postgresql://user:password@host:5432/db` (or `postgres://`, with any libpq URI parameter such as
`?sslmode=require`; PostgreSQL needs the pgvector extension). The password never appears in
`repr`, logs or errors.
"""

from __future__ import annotations

import re
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
    """The URL with any password (in the user part or a `password=` parameter) as `***`."""
    parts = urlsplit(url)
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostinfo}"
    elif query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
