"""The lookup backend: SQL lookups, semantic search that is really semantic, documents added live."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from backends.lookup.embeddings import MiniLMEmbedder
from backends.lookup.seed import DOCUMENTS, USERS
from backends.lookup.server import create_server
from backends.lookup.settings import LookupSettings, redact
from backends.lookup.store import StoreError, open_store
from tests.conftest import ROOT

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


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client[Any]]:
    settings = LookupSettings(database_url=f"sqlite:///{tmp_path / 'lookup.sqlite3'}")  # type: ignore[arg-type]
    async with Client(create_server(settings, EMBEDDER)) as connected:
        yield connected


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
    async def test_recall_at_3_through_the_real_store(self, tmp_path: Path) -> None:
        store = open_store(f"sqlite:///{tmp_path / 'r.sqlite3'}", dim=EMBEDDER.dim)
        await store.setup(DOCUMENTS, EMBEDDER.embed)
        pairs = semantic_pairs()
        queries = EMBEDDER.embed([q for q, _ in pairs])
        found = 0
        for (_query, index), vector in zip(pairs, queries, strict=True):
            hits = await store.search(vector, 3)
            texts = [h.text for h in hits]
            found += DOCUMENTS[index].text in texts
        await store.close()
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

    async def test_stats(self, client: Client[Any]) -> None:
        stats = json.loads((await client.read_resource("lookup://stats"))[0].text)  # type: ignore[union-attr]
        assert stats == {
            "documents": len(DOCUMENTS),
            "store": "sqlite",
            "embedder": "all-MiniLM-L6-v2",
            "dimensions": 384,
        }


class TestStore:
    @pytest.mark.asyncio
    async def test_seeding_happens_once(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'seed.sqlite3'}"
        for _ in range(2):
            store = open_store(url, dim=EMBEDDER.dim)
            await store.setup(DOCUMENTS, EMBEDDER.embed)
            assert await store.count_documents() == len(DOCUMENTS)
            assert len(await store.get_user(1)) == 1
            await store.close()

    def test_unknown_schemes_are_refused(self) -> None:
        with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
            open_store("mysql://u:p@h/db", dim=3)

    def test_passwords_are_redacted(self) -> None:
        assert redact("postgresql://app:s3cret@db:5432/lookup") == "postgresql://app:***@db:5432/lookup"
        settings = LookupSettings(database_url="postgresql://app:s3cret@db/lookup")  # type: ignore[arg-type]
        assert "s3cret" not in repr(settings)


@pytest.mark.asyncio
async def test_runs_alone_over_stdio(tmp_path: Path) -> None:
    transport = StdioTransport(
        command=sys.executable,
        args=["-m", "backends.lookup"],
        cwd=str(ROOT),
        env={"LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path / 'stdio.sqlite3'}"},
    )
    async with Client(transport) as stdio:
        result = await stdio.call_tool(
            "search_documents", {"query": "tallest mountain on the planet", "top_k": 1}
        )
    assert "Everest" in result.structured_content["results"][0]["text"]
