"""What every store deals in: users, documents, search hits, and the `Store` interface itself.

Every implementation (`store_sqlite`, `store_postgres`; `store.open_store` picks one) creates its
schema and seeds it on first `setup()`, uses parameterized queries only, and gives the same
results.
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
