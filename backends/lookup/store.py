"""Opening the store a database URL names.

`sqlite:` (the default: `store_sqlite.SQLiteStore`, with the sqlite-vec index) or `postgresql:` /
`postgres:` (`store_postgres.PostgresStore`, with pgvector; needs the `postgres` extra).
"""

from __future__ import annotations

from backends.lookup.records import Store, StoreError


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
