"""The lookup MCP server: user lookups in SQL and semantic search over documents.

Importing this module is cheap; the server's lifespan loads the embedding model and opens the
database (from `LOOKUP_*` settings, see `backends.lookup.settings`) before the server answers its
first request, so the first search is as fast as the tenth. On first start the database gets its
schema, ten users and a library of documents. A database that cannot be opened at start is
opened again on the next request that needs it (its error is what that request gets).
"""

import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from backends.lookup.embeddings import Embedder, MiniLMEmbedder
from backends.lookup.records import Store, StoreError
from backends.lookup.seed import DOCUMENTS
from backends.lookup.settings import LookupSettings
from backends.lookup.store import open_store

logger = logging.getLogger("backends.lookup")

READ_ONLY = {"readOnlyHint": True, "idempotentHint": True, "destructiveHint": False, "openWorldHint": False}
WRITES = {"readOnlyHint": False, "idempotentHint": False, "destructiveHint": False, "openWorldHint": False}
INSTRUCTIONS = (
    "Look up users by id (query_user_data) and find documents by meaning, not just words "
    "(search_documents); add_document stores a new document that is searchable at once."
)


class UserRows(TypedDict):
    user_id: int
    rows: list[dict[str, Any]]


class SearchHit(TypedDict):
    id: int
    text: str
    metadata: dict[str, Any]
    score: float


class SearchResult(TypedDict):
    query: str
    results: list[SearchHit]


class Added(TypedDict):
    id: int
    chars: int


class Lookup:
    """The store and the embedder, opened once on first use."""

    def __init__(self, settings: LookupSettings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._store: Store | None = None
        self._lock = anyio.Lock()

    async def store(self) -> Store:
        async with self._lock:
            if self._store is None:
                store = open_store(self.settings.database_url.get_secret_value(), dim=self.embedder.dim)
                await store.setup(DOCUMENTS, self.embedder.embed)
                self._store = store
            return self._store

    async def warm(self) -> None:
        """Load the model (one embedding, so the numeric libraries are warm too) and open the store."""
        await anyio.to_thread.run_sync(self.embedder.embed, ["warm up"])
        try:
            await self.store()
        except StoreError as error:
            logger.warning("lookup: the store is not available yet: %s", error)

    async def embed_one(self, text: str) -> Any:
        vectors = await anyio.to_thread.run_sync(self.embedder.embed, [text])
        return vectors[0]

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None


def create_server(settings: LookupSettings | None = None, embedder: Embedder | None = None) -> FastMCP:
    """Build the lookup server (settings from the environment unless given)."""
    lookup = Lookup(settings or LookupSettings(), embedder or MiniLMEmbedder())

    @asynccontextmanager
    async def lifespan(server: FastMCP) -> Any:
        await lookup.warm()
        try:
            yield {}
        finally:
            await lookup.close()

    server: FastMCP = FastMCP("lookup", instructions=INSTRUCTIONS, lifespan=lifespan)
    limits = lookup.settings

    @server.tool(annotations=READ_ONLY, tags={"lookup"})
    async def query_user_data(
        user_id: Annotated[int, Field(strict=True, description="The user's id")],
    ) -> UserRows:
        """The user with this id (a parameterized SQL query); an unknown id gives no rows."""
        rows = await _guard((await lookup.store()).get_user(user_id))
        return {"user_id": user_id, "rows": rows}

    @server.tool(annotations=READ_ONLY, tags={"lookup"})
    async def search_documents(
        query: Annotated[str, Field(description="What you are looking for, in your own words")],
        top_k: Annotated[int, Field(description=f"How many results, 1 to {limits.max_top_k}")] = 5,
    ) -> SearchResult:
        """Find the documents closest in meaning to the query (semantic vector search)."""
        if not query.strip():
            raise ToolError("query is empty: say what you are looking for")
        if len(query) > limits.max_query_chars:
            raise ToolError(f"query has {len(query)} characters; the limit is {limits.max_query_chars}")
        if not 1 <= top_k <= limits.max_top_k:
            raise ToolError(f"top_k must be from 1 to {limits.max_top_k}, got {top_k}")
        store = await lookup.store()
        hits = await _guard(store.search(await lookup.embed_one(query), top_k))
        return {
            "query": query,
            "results": [{"id": h.id, "text": h.text, "metadata": h.metadata, "score": h.score} for h in hits],
        }

    @server.tool(annotations=WRITES, tags={"lookup"})
    async def add_document(
        text: Annotated[str, Field(description="The document's text")],
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Any JSON object to keep with it")
        ] = None,
    ) -> Added:
        """Store a document; it is searchable at once."""
        if not text.strip():
            raise ToolError("text is empty: a document needs some text")
        if len(text) > limits.max_document_chars:
            raise ToolError(f"text has {len(text)} characters; the limit is {limits.max_document_chars}")
        store = await lookup.store()
        new_id = await _guard(store.add_document(text, metadata or {}, await lookup.embed_one(text)))
        return {"id": new_id, "chars": len(text)}

    @server.resource("lookup://stats", mime_type="application/json")
    async def stats() -> dict[str, Any]:
        """How many documents there are, and which store and model serve them."""
        store = await lookup.store()
        return {
            "documents": await _guard(store.count_documents()),
            "store": store.kind,
            "embedder": lookup.embedder.name,
            "dimensions": lookup.embedder.dim,
        }

    return server


async def _guard(awaitable: Any) -> Any:
    try:
        return await awaitable
    except StoreError as error:
        raise ToolError(str(error)) from None


mcp = create_server()
