"""The lookup backend: SQL lookups, semantic search that is really semantic, documents added live."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import pytest_asyncio
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from backends.lookup.embeddings import MiniLMEmbedder, Vectors
from backends.lookup.records import StoreError
from backends.lookup.seed import DOCUMENTS, USERS
from backends.lookup.server import create_server
from backends.lookup.settings import LookupSettings, redact
from backends.lookup.store import open_store
from backends.lookup.store_postgres import SEARCH_SQL, PostgresStore
from tests.conftest import ROOT, free_port
from tests.pg import APP_PASSWORD, APP_ROLE, Postgres

FIXTURES = Path(__file__).parent / "fixtures"
EMBEDDER = MiniLMEmbedder()
STOPWORDS = set(
    """a an the and or but if of to in on at by for with from into onto about as is are was were be been being
    do does did doing i me my you your we our it its they them their he she his her this that these those what
    which who whom how why when where can could should would will shall may might must not no so than too very
    just own same other more most some any each every all both few after before over under again up down out off
    here there then once go goes get got keep keeps make makes way best good""".split()  # noqa: SIM905
)


def content_words(text: str) -> set[str]:
    """Lower-case words minus stopwords, reduced to a crude stem (tyres/tyre, dropped/drop)."""
    stems = set()
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in STOPWORDS or len(word) < 3:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        stems.add(word)
    return stems


def semantic_pairs() -> list[tuple[str, int]]:
    pairs = json.loads((FIXTURES / "semantic_pairs.json").read_text())["pairs"]
    found = []
    for pair in pairs:
        targets = [
            i
            for i, d in enumerate(DOCUMENTS)
            if d.metadata["topic"] == pair["topic"] and pair.get("contains", "") in d.text
        ]
        assert len(targets) == 1, f"pair {pair} must name exactly one seed document"
        found.append((pair["query"], targets[0]))
    return found


class Remembering:
    """The real model, remembering what it embedded: the seed library is embedded once a session."""

    def __init__(self, model: MiniLMEmbedder) -> None:
        self.model = model
        self.name = model.name
        self.dim = model.dim
        self._seen: dict[tuple[str, ...], Vectors] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        key = tuple(texts)
        if key not in self._seen:
            self._seen[key] = self.model.embed(texts)
        return self._seen[key].copy()


MODEL = Remembering(EMBEDDER)


@pytest_asyncio.fixture
async def client(database_url: str) -> AsyncIterator[Client[Any]]:
    settings = LookupSettings(database_url=database_url)  # type: ignore[arg-type]
    async with Client(create_server(settings, MODEL)) as connected:
        yield connected


@pytest_asyncio.fixture
async def seeded(database_url: str) -> AsyncIterator[Any]:
    """A store of each kind, set up and seeded."""
    store = open_store(database_url, dim=MODEL.dim)
    await store.setup(DOCUMENTS, MODEL.embed)
    try:
        yield store
    finally:
        await store.close()


class TestEmbeddings:
    def test_the_numpy_model_matches_sentence_transformers(self) -> None:
        """Reference vectors made by sentence-transformers (fixtures/make_minilm_reference.py)."""
        reference = json.loads((FIXTURES / "minilm_reference.json").read_text())
        mine = EMBEDDER.embed(reference["sentences"])
        theirs = np.array(reference["vectors"], dtype=np.float32)
        cosines = np.sum(mine * theirs, axis=1)
        assert cosines.min() >= 0.9999
        assert float(np.abs(mine - theirs).max()) < 1e-4

    def test_vectors_are_unit_length(self) -> None:
        vectors = EMBEDDER.embed(["one", "two words", ""])
        assert vectors.shape == (3, 384)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


class TestSemanticSearch:
    def test_the_labeled_pairs_share_no_content_word(self) -> None:
        """Each query must find its document by meaning, not by a shared word."""
        for query, index in semantic_pairs():
            shared = content_words(query) & content_words(DOCUMENTS[index].text)
            assert not shared, f"{query!r} shares {shared} with its document"
        assert len(semantic_pairs()) >= 20

    @pytest.mark.asyncio
    async def test_recall_at_3_through_the_real_store(self, seeded: Any) -> None:
        pairs = semantic_pairs()
        queries = MODEL.embed([q for q, _ in pairs])
        found = 0
        for (_query, index), vector in zip(pairs, queries, strict=True):
            hits = await seeded.search(vector, 3)
            texts = [h.text for h in hits]
            found += DOCUMENTS[index].text in texts
        recall = found / len(pairs)
        assert recall >= 0.9, f"recall@3 = {recall:.2f}"


@pytest.mark.asyncio
class TestTools:
    async def test_query_user_data(self, client: Client[Any]) -> None:
        result = await client.call_tool("query_user_data", {"user_id": 2})
        assert result.structured_content == {"user_id": 2, "rows": [USERS[1]]}

    async def test_an_unknown_user_is_an_empty_result(self, client: Client[Any]) -> None:
        result = await client.call_tool("query_user_data", {"user_id": 999})
        assert result.structured_content == {"user_id": 999, "rows": []}

    @pytest.mark.parametrize("bad", ["1 OR 1=1", True, 1.5])
    async def test_user_id_must_be_an_integer(self, client: Client[Any], bad: Any) -> None:
        with pytest.raises(ToolError, match="user_id"):
            await client.call_tool("query_user_data", {"user_id": bad})

    async def test_a_paraphrase_finds_its_document(self, client: Client[Any]) -> None:
        result = await client.call_tool(
            "search_documents", {"query": "how can I mend a flat tyre on my cycle"}
        )
        top = result.structured_content["results"][0]
        assert top["text"].startswith("Repairing a punctured bike wheel")
        assert top["metadata"] == {"topic": "cycling", "source": "seed"}
        scores = [r["score"] for r in result.structured_content["results"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 5

    async def test_sql_in_a_query_is_just_text(self, client: Client[Any]) -> None:
        result = await client.call_tool(
            "search_documents", {"query": "'; DROP TABLE documents; --", "top_k": 2}
        )
        assert len(result.structured_content["results"]) == 2
        again = await client.call_tool("query_user_data", {"user_id": 1})
        assert again.structured_content["rows"]

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"query": "   "}, "query is empty"),
            ({"query": "x", "top_k": 0}, "top_k must be from 1 to 50, got 0"),
            ({"query": "x", "top_k": 51}, "top_k must be from 1 to 50, got 51"),
            ({"query": "x" * 2001}, "query has 2001 characters; the limit is 2000"),
        ],
    )
    async def test_search_refuses_bad_input_clearly(
        self, client: Client[Any], arguments: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ToolError, match=re.escape(message)):
            await client.call_tool("search_documents", arguments)

    async def test_an_added_document_is_searchable_at_once(self, client: Client[Any]) -> None:
        added = await client.call_tool(
            "add_document",
            {
                "text": "Quarterly revenue grew twelve percent thanks to strong subscription sales.",
                "metadata": {"q": 3},
            },
        )
        new_id = added.structured_content["id"]
        found = await client.call_tool(
            "search_documents", {"query": "company earnings went up this quarter", "top_k": 1}
        )
        assert found.structured_content["results"][0]["id"] == new_id
        assert found.structured_content["results"][0]["metadata"] == {"q": 3}

    @pytest.mark.parametrize(
        ("text", "message"),
        [("", "text is empty"), ("x" * 20_001, "text has 20001 characters; the limit is 20000")],
    )
    async def test_add_document_refuses_bad_text(self, client: Client[Any], text: str, message: str) -> None:
        with pytest.raises(ToolError, match=re.escape(message)):
            await client.call_tool("add_document", {"text": text})

    async def test_annotations_are_honest(self, client: Client[Any]) -> None:
        tools = {t.name: t.annotations for t in await client.list_tools()}
        assert tools["search_documents"].read_only_hint is True  # type: ignore[union-attr]
        assert tools["query_user_data"].idempotent_hint is True  # type: ignore[union-attr]
        assert tools["add_document"].read_only_hint is False  # type: ignore[union-attr]
        assert tools["add_document"].idempotent_hint is False  # type: ignore[union-attr]

    async def test_stats(self, client: Client[Any], database_url: str) -> None:
        stats = json.loads((await client.read_resource("lookup://stats"))[0].text)  # type: ignore[union-attr]
        assert stats == {
            "documents": len(DOCUMENTS),
            "store": "sqlite" if database_url.startswith("sqlite:") else "postgres",
            "embedder": "all-MiniLM-L6-v2",
            "dimensions": 384,
        }


class TestStore:
    @pytest.mark.asyncio
    async def test_seeding_happens_once(self, database_url: str) -> None:
        for _ in range(2):
            store = open_store(database_url, dim=MODEL.dim)
            await store.setup(DOCUMENTS, MODEL.embed)
            assert await store.count_documents() == len(DOCUMENTS)
            assert len(await store.get_user(1)) == 1
            await store.close()

    @pytest.mark.asyncio
    async def test_users_by_id(self, seeded: Any) -> None:
        assert await seeded.get_user(2) == [USERS[1]]
        assert await seeded.get_user(999) == []
        assert await seeded.get_user(-1) == []

    @pytest.mark.asyncio
    async def test_text_that_looks_like_sql_is_stored_verbatim(self, seeded: Any) -> None:
        text = "Robert'); DROP TABLE documents; -- \\ $1 %s ?"
        metadata = {"quote": 'it\'s "quoted"', "nested": {"list": [1, None, True]}}
        vector = MODEL.embed([text])[0]
        new_id = await seeded.add_document(text, metadata, vector)
        assert await seeded.count_documents() == len(DOCUMENTS) + 1
        [hit] = await seeded.search(vector, 1)
        assert (hit.id, hit.text, hit.metadata) == (new_id, text, metadata)
        assert hit.score == pytest.approx(1.0, abs=1e-5)

    @pytest.mark.asyncio
    async def test_ids_follow_the_seed_order(self, seeded: Any) -> None:
        [hit] = await seeded.search(MODEL.embed([DOCUMENTS[0].text])[0], 1)
        assert (hit.id, hit.metadata) == (1, DOCUMENTS[0].metadata)
        vector = MODEL.embed(["one more"])[0]
        assert await seeded.add_document("one more", {}, vector) == len(DOCUMENTS) + 1

    @pytest.mark.asyncio
    @pytest.mark.parametrize("top_k", [1, 5, 40, 50])
    async def test_top_k_limits_the_results(self, seeded: Any, top_k: int) -> None:
        hits = await seeded.search(MODEL.embed(["weather"])[0], top_k)
        assert len(hits) == min(top_k, len(DOCUMENTS))
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert len({h.id for h in hits}) == len(hits)

    def test_unknown_schemes_are_refused(self) -> None:
        with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
            open_store("mysql://u:p@h/db", dim=3)

    @pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
    def test_postgres_urls_choose_the_postgres_store(self, scheme: str) -> None:
        store = open_store(f"{scheme}://app:s3cret@db:5432/lookup", dim=3)
        assert isinstance(store, PostgresStore)
        assert "s3cret" not in repr(store)

    def test_passwords_are_redacted(self) -> None:
        assert redact("postgresql://app:s3cret@db:5432/lookup") == "postgresql://app:***@db:5432/lookup"
        assert redact("postgresql://app:s3c@ret@[::1]/db") == "postgresql://app:***@[::1]/db"
        assert redact("postgresql://app@db/x?sslmode=require&password=s3cret") == (
            "postgresql://app@db/x?sslmode=require&password=***"
        )
        assert redact("sqlite:///data/lookup.sqlite3") == "sqlite:///data/lookup.sqlite3"
        settings = LookupSettings(database_url="postgresql://app:s3cret@db/lookup")  # type: ignore[arg-type]
        assert "s3cret" not in repr(settings)


@pytest.mark.asyncio
async def test_both_stores_rank_alike(tmp_path: Path, postgres_url: str) -> None:
    """The same queries give the same documents, in the same order, with the same scores."""
    stores = [open_store(f"sqlite:///{tmp_path / 'a.sqlite3'}", dim=MODEL.dim)]
    stores.append(open_store(postgres_url, dim=MODEL.dim))
    for store in stores:
        await store.setup(DOCUMENTS, MODEL.embed)
    try:
        for vector in MODEL.embed([q for q, _ in semantic_pairs()]):
            lite, pg = [await store.search(vector, 5) for store in stores]
            assert [h.id for h in lite] == [h.id for h in pg]
            assert [h.score for h in lite] == pytest.approx([h.score for h in pg], abs=1e-5)
    finally:
        for store in stores:
            await store.close()


@pytest.mark.asyncio
class TestPostgres:
    """What only PostgreSQL has: concurrent starts, authentication, the extension, the index."""

    async def test_stores_starting_at_once_seed_once(
        self, postgres: Postgres, postgres_database: str, postgres_url: str
    ) -> None:
        stores = [open_store(postgres_url, dim=MODEL.dim) for _ in range(3)]
        await asyncio.gather(*(store.setup(DOCUMENTS, MODEL.embed) for store in stores))
        for store in stores:
            assert await store.count_documents() == len(DOCUMENTS)
            await store.close()
        assert postgres.execute("SELECT COUNT(*) FROM users", database=postgres_database) == [(len(USERS),)]

    async def test_a_wrong_password_is_refused_without_showing_it(
        self, app_role: Postgres, app_database: str
    ) -> None:
        store = open_store(app_role.url(app_database, user=APP_ROLE, password="not-the-s3cret"), dim=3)
        with pytest.raises(StoreError) as refused:
            await store.setup([], MODEL.embed)
        message = str(refused.value)
        assert f'password authentication failed for user "{APP_ROLE}"' in message
        assert "not-the-s3cret" not in message and f"{APP_ROLE}:***@" in message

    async def test_an_unreachable_server_is_a_store_error_without_the_password(self) -> None:
        url = f"postgresql://app:s3cret-pw@127.0.0.1:{free_port()}/lookup"
        with pytest.raises(StoreError) as refused:
            await open_store(url, dim=3).setup([], MODEL.embed)
        message = str(refused.value)
        assert message.startswith("cannot use PostgreSQL at postgresql://app:***@127.0.0.1:")
        assert "Connection refused" in message and "s3cret" not in message

    async def test_without_pgvector_the_error_says_what_to_install(
        self, app_role: Postgres, app_database: str
    ) -> None:
        """pgvector is not a trusted extension: a plain role cannot create it."""
        store = open_store(app_role.url(app_database, user=APP_ROLE, password=APP_PASSWORD), dim=3)
        with pytest.raises(StoreError, match="the pgvector extension is missing") as refused:
            await store.setup([], MODEL.embed)
        assert "permission denied" in str(refused.value) and APP_PASSWORD not in str(refused.value)

    async def test_a_plain_role_works_once_pgvector_is_installed(
        self, app_role: Postgres, app_database: str
    ) -> None:
        app_role.execute("CREATE EXTENSION vector", database=app_database)
        store = open_store(app_role.url(app_database, user=APP_ROLE, password=APP_PASSWORD), dim=MODEL.dim)
        await store.setup(DOCUMENTS[:3], MODEL.embed)
        assert await store.count_documents() == 3
        assert await store.get_user(1) == [USERS[0]]
        await store.close()

    async def test_a_database_made_for_another_model_is_refused(self, postgres_url: str) -> None:
        small = open_store(postgres_url, dim=3)
        await small.setup([], MODEL.embed)
        await small.close()
        with pytest.raises(StoreError, match="holds 3-dimensional vectors but the embedder makes 384"):
            await open_store(postgres_url, dim=MODEL.dim).setup(DOCUMENTS, MODEL.embed)

    async def test_search_uses_the_hnsw_cosine_index(
        self, postgres: Postgres, postgres_database: str, postgres_url: str
    ) -> None:
        store = open_store(postgres_url, dim=MODEL.dim)
        await store.setup(DOCUMENTS, MODEL.embed)
        await store.close()
        indexes = postgres.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'documents'", database=postgres_database
        )
        assert any("USING hnsw (embedding vector_cosine_ops)" in row[0] for row in indexes)
        vector = "[" + ",".join(["0.05"] * MODEL.dim) + "]"
        with psycopg.connect(postgres_url) as conn:  # a big table would pick the index by itself
            conn.execute("SET enable_seqscan = off")
            plan = conn.execute("EXPLAIN " + SEARCH_SQL, (vector, 5)).fetchall()
        assert "Index Scan using documents_embedding_hnsw" in "\n".join(row[0] for row in plan)


@pytest.mark.asyncio
async def test_runs_alone_over_stdio(database_url: str) -> None:
    transport = StdioTransport(
        command=sys.executable,
        args=["-m", "backends.lookup"],
        cwd=str(ROOT),
        env={"LOOKUP_DATABASE_URL": database_url},
    )
    async with Client(transport) as stdio:
        result = await stdio.call_tool(
            "search_documents", {"query": "tallest mountain on the planet", "top_k": 1}
        )
    assert "Everest" in result.structured_content["results"][0]["text"]
