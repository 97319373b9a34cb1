"""Fixtures for the backends: one real PostgreSQL per session, a fresh database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import APP_PASSWORD, APP_ROLE, Postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL 16 server with pgvector, started on first use, deleted after the session."""
    server = Postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_database(postgres: Postgres) -> Iterator[str]:
    """The name of an empty database of its own, dropped after the test."""
    name = postgres.create_database()
    try:
        yield name
    finally:
        postgres.drop_database(name)


@pytest.fixture
def postgres_url(postgres: Postgres, postgres_database: str) -> str:
    """A superuser URL to an empty database of its own."""
    return postgres.url(postgres_database)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: the same behaviour is expected of both stores."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lookup.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def app_role(postgres: Postgres) -> Postgres:
    """The server, with a login role that is no superuser and must give its password."""
    postgres.add_password_role(APP_ROLE, APP_PASSWORD)
    return postgres


@pytest.fixture
def app_database(app_role: Postgres) -> Iterator[str]:
    """An empty database owned by that role (no pgvector in it: only a superuser may add it)."""
    name = app_role.create_database(owner=APP_ROLE)
    try:
        yield name
    finally:
        app_role.drop_database(name)
