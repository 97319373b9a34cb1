"""The store interface: users, documents, and nearest-neighbour search over their embeddings.

`open_store(url, dim)` picks the implementation by the URL's scheme: `sqlite:` (the default,
`store_sqlite.SQLiteStore`, with the sqlite-vec index) or `postgresql:` / `postgres:`
(`store_postgres.PostgresStore`, with pgvector). Every implementation creates its schema and
seeds it on first `setup()`, uses parameterized queries only, and gives the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


class StoreError(Exception):
    """The store cannot serve the request (the message is safe to show: no SQL, no secrets)."""


@dataclass(frozen=True)
class Hit:
    """One search result."""

    id: int
    text: str
    metadata: dict[str, Any]
    score: float
    """Cosine similarity to the query, 1.0 being identical."""


@dataclass(frozen=True)
class SeedDocument:
    text: str
    metadata: dict[str, Any]


class Store(Protocol):
    """Where users and documents live."""

    kind: str

    async def setup(self, seed_documents: Sequence[SeedDocument], embed: Embed) -> None:
        """Create the schema; seed users and documents if the database is empty."""
        ...

    async def get_user(self, user_id: int) -> list[dict[str, Any]]:
        """The rows for one user id (empty when unknown)."""
        ...

    async def add_document(self, text: str, metadata: dict[str, Any], embedding: NDArray[np.float32]) -> int:
        """Store a document and its embedding; returns its id."""
        ...

    async def search(self, embedding: NDArray[np.float32], top_k: int) -> list[Hit]:
        """The `top_k` documents nearest to `embedding`, best first."""
        ...

    async def count_documents(self) -> int:
        """How many documents are stored."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class Embed(Protocol):
    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def open_store(url: str, *, dim: int) -> Store:
    """The store for a database URL (nothing connects until `setup()`)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from backends.lookup.store_sqlite import SQLiteStore

        return SQLiteStore.from_url(url, dim=dim)
    if scheme in ("postgresql", "postgres"):
        try:
            from backends.lookup.store_postgres import PostgresStore
        except ImportError:
            raise StoreError(
                "a postgresql:// database needs the PostgreSQL driver: "
                "pip install 'mcp-orchestration-gateway[postgres]'"
            ) from None
        return PostgresStore.from_url(url, dim=dim)
    raise StoreError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")
