"""A real PostgreSQL 16 with pgvector for tests, from the `pgserver` wheel (no Docker, no install).

pgserver runs `initdb` once in the given directory and starts postgres listening on a unix socket
in that directory only (`-h ""`: no TCP port at all), trusting local connections as `postgres`.
Run as root, it creates a system user `pgserver` (`useradd`) to run postgres as, and opens
read/traverse permissions on the data directory's parents and its own binaries.

The data lives in a directory of its own, not under pytest's `tmp_path_factory`: another pytest
session starting meanwhile prunes old `pytest-N` directories, a running server's data with them.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

APP_ROLE = "lookup_app"
APP_PASSWORD = "app-s3cret"
"""A login role that is no superuser, as an application's would be (`Postgres.add_password_role`)."""


class Postgres:
    """One running server; each test gets its own database."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="lookup-postgres-"))
        self.pgdata = self.home / "pgdata"
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pytest makes that an error
            warnings.simplefilter("ignore")
            import pgserver

        self.server: Any = pgserver.get_server(self.pgdata, cleanup_mode="delete")
        self.socket_dir = Path(self.server.get_postmaster_info().socket_dir)

    def url(self, database: str, *, user: str = "postgres", password: str = "") -> str:
        """A libpq URL to `database` over the unix socket."""
        return f"postgresql://{user}:{quote(password, safe='')}@/{database}?host={self.socket_dir}"

    def execute(
        self, statement: str | sql.Composable, params: Any = None, *, database: str = "postgres"
    ) -> list[Any]:
        """Run one statement as the superuser; the rows, if it returns any."""
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, *, owner: str = "postgres") -> str:
        """A new empty database (no pgvector yet); its name."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
        )
        return name

    def drop_database(self, name: str) -> None:
        self.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def add_password_role(self, role: str, password: str) -> None:
        """A login role that is not a superuser and must give its password (scram-sha-256).

        The rule goes first in pg_hba.conf; the postmaster handles the reload signal before it
        accepts the next connection, so the rule holds from the next connection on.
        """
        self.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(f"local all {role} scram-sha-256\n" + hba.read_text())
        self.execute("SELECT pg_reload_conf()")

    def stop(self) -> None:
        """Stop the server and delete its data."""
        self.server.cleanup()
        shutil.rmtree(self.home, ignore_errors=True)
