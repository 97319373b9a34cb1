"""The SQLite store: tables `users` and `documents`, and a sqlite-vec index of embeddings.

One connection, used from one worker thread at a time (a lock), so the event loop never
blocks on the database and concurrent tool calls are safe. The vector index is a `vec0`
virtual table with cosine distance; its rowid is the document id. The connection is made with
APSW rather than the standard `sqlite3` module: sqlite-vec is a loadable extension, and Python
builds without `--enable-loadable-sqlite-extensions` (pyenv's default, among others) cannot
load one through `sqlite3`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import apsw
import numpy as np
import sqlite_vec
from numpy.typing import NDArray

from backends.lookup.records import Embed, Hit, SeedDocument, StoreError
from backends.lookup.seed import USERS

T = TypeVar("T")
USER_COLUMNS = ("id", "name", "email", "team", "role", "created_at")


class SQLiteStore:
    """Users and documents in a SQLite file."""

    kind = "sqlite"

    def __init__(self, path: Path | str, *, dim: int) -> None:
        self._path = Path(path) if str(path) != ":memory:" else path
        self._dim = dim
        self._lock = threading.Lock()
        self._conn: apsw.Connection | None = None

    @classmethod
    def from_url(cls, url: str, *, dim: int) -> SQLiteStore:
        """`sqlite:///relative/file`, `sqlite:////absolute/file` or `sqlite:///:memory:`."""
        if not url.startswith("sqlite:///"):
            raise StoreError("a SQLite URL looks like sqlite:///path/to/file.sqlite3")
        return cls(url.removeprefix("sqlite:///"), dim=dim)

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path}>"

    def _connect(self) -> apsw.Connection:
        if self._conn is None:
            if isinstance(self._path, Path):
                self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = apsw.Connection(str(self._path))
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.enable_load_extension(False)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[apsw.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                try:
                    return fn(self._connect())
                except apsw.Error as error:
                    raise StoreError(f"database error ({type(error).__name__})") from error

        return await anyio.to_thread.run_sync(locked)

    async def setup(self, seed_documents: Sequence[SeedDocument], embed: Embed) -> None:
        dim = self._dim

        def schema(conn: apsw.Connection) -> int:
            conn.execute(
                """
                CREATE TABLE IF NOT EXISTS users (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                    team TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS documents (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL,
                    metadata TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
                """
            )
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS doc_vectors USING vec0(embedding float[{int(dim)}] "
                "distance_metric=cosine)"
            )
            if _scalar(conn, "SELECT COUNT(*) FROM users") == 0:
                with conn:
                    conn.executemany(
                        "INSERT INTO users (id, name, email, team, role, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (u["id"], u["name"], u["email"], u["team"], u["role"], u["created_at"])
                            for u in USERS
                        ],
                    )
            return _scalar(conn, "SELECT COUNT(*) FROM documents")

        if await self._run(schema) == 0 and seed_documents:
            vectors = await anyio.to_thread.run_sync(embed, [d.text for d in seed_documents])
            for document, vector in zip(seed_documents, vectors, strict=True):
                await self.add_document(document.text, document.metadata, vector)

    async def get_user(self, user_id: int) -> list[dict[str, Any]]:
        def query(conn: apsw.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, name, email, team, role, created_at FROM users WHERE id = ?", (user_id,)
            )
            return [dict(zip(USER_COLUMNS, row, strict=True)) for row in rows]

        return await self._run(query)

    async def add_document(self, text: str, metadata: dict[str, Any], embedding: NDArray[np.float32]) -> int:
        blob = np.asarray(embedding, dtype=np.float32).tobytes()

        def insert(conn: apsw.Connection) -> int:
            with conn:  # one transaction: the document and its vector, or neither
                conn.execute(
                    "INSERT INTO documents (text, metadata) VALUES (?, ?)", (text, json.dumps(metadata))
                )
                new_id = int(conn.last_insert_rowid())
                conn.execute("INSERT INTO doc_vectors (rowid, embedding) VALUES (?, ?)", (new_id, blob))
            return new_id

        return await self._run(insert)

    async def search(self, embedding: NDArray[np.float32], top_k: int) -> list[Hit]:
        blob = np.asarray(embedding, dtype=np.float32).tobytes()

        def knn(conn: apsw.Connection) -> list[Hit]:
            rows = conn.execute(
                """
                SELECT d.id, d.text, d.metadata, v.distance
                FROM (SELECT rowid, distance FROM doc_vectors WHERE embedding MATCH ? AND k = ?) AS v
                JOIN documents AS d ON d.id = v.rowid
                ORDER BY v.distance
                """,
                (blob, top_k),
            )
            return [
                Hit(i, text, json.loads(meta), round(1.0 - float(distance), 6))
                for i, text, meta, distance in rows
            ]

        return await self._run(knn)

    async def count_documents(self) -> int:
        return await self._run(lambda conn: _scalar(conn, "SELECT COUNT(*) FROM documents"))

    async def close(self) -> None:
        def close(conn: apsw.Connection) -> None:
            conn.close()
            self._conn = None

        if self._conn is not None:
            await self._run(close)


def _scalar(conn: apsw.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row is not None else 0
