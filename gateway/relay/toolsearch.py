"""Search mode: `search_tools` and `call_tool` instead of a tools/list too large for a model.

A client whose `tools/list` is estimated above its threshold (see `gateway.relay.budget`) is listed
two tools instead of its backend tools:

* `search_tools(query, limit=5)` ranks the tools of the caller's view by the words of `query`
  against each tool's name, title, description and parameter names and descriptions (BM25;
  words are split at `_` and camelCase, case-folded; a word that names no tool matches the
  words it begins) and answers `{"tools": [{name, title?, description, inputSchema}]}`, best
  first. An empty query lists the first `limit` tools.
* `call_tool(name, arguments)` makes the call exactly as if the client had called `name`: the
  same request goes through the relay (views, rate limits, size limits, audit, era translation
  and everything else apply to `name`), and its answer comes back unchanged. A tool outside the
  caller's view answers like a tool that does not exist.

Tools stay callable by their own names, and the gateway's own tools (workflows) stay listed.
This is the shape of FastMCP's search transforms (`fastmcp.server.transforms.search`); those
rewrite FastMCP components, and the relay serves backend tools from the route index instead.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from mcp_types import CallToolRequestParams

from gateway.policies.active import ActivePolicies
from gateway.principal import Principal
from gateway.relay.answers import complete, unknown_tool
from gateway.relay.budget import ContextBudget
from gateway.routing.index import Route, RouteIndex
from gateway.routing.naming import CALL_TOOL, SEARCH_TOOL

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

NAMES = frozenset({SEARCH_TOOL, CALL_TOOL})
DEFAULT_LIMIT = 5
MAX_LIMIT = 50

SEARCH_ITEM: dict[str, Any] = {
    "name": SEARCH_TOOL,
    "description": (
        "Find tools by what they do. This server has more tools than fit in a list: search with a "
        "few words, then call a tool with `call_tool`. Returns each match's name, description and "
        "input schema, best first."
    ),
    "inputSchema": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Words describing the tool you need."},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
                "description": "Most tools to return.",
            },
        },
        "required": ["query"],
    },
    "outputSchema": {
        "type": "object",
        "properties": {"tools": {"type": "array", "items": {"type": "object"}}},
        "required": ["tools"],
    },
    "annotations": {"readOnlyHint": True, "openWorldHint": False},
}
CALL_ITEM: dict[str, Any] = {
    "name": CALL_TOOL,
    "description": "Call a tool found with `search_tools`, by its name, with its arguments.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The tool's name, as `search_tools` gave it."},
            "arguments": {"type": "object", "description": "The tool's arguments (see its input schema)."},
        },
        "required": ["name"],
    },
}

_WORD = re.compile(r"[^\W_]{2,}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_K1, _B = 1.5, 0.75
_CACHED = 64


def words(text: str) -> list[str]:
    """Search words of `text`: split at non-letters, `_` and camelCase; NFKC, case-folded."""
    return _WORD.findall(unicodedata.normalize("NFKC", _CAMEL.sub(" ", text)).casefold())


def searchable(item: Mapping[str, Any]) -> str:
    """The text a tool is found by: name, title, description, parameter names and descriptions."""
    parts = [str(item.get(key) or "") for key in ("name", "title", "description")]
    schema = item.get("inputSchema")
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    for name, spec in (properties or {}).items():
        parts.append(str(name))
        if isinstance(spec, Mapping) and isinstance(spec.get("description"), str):
            parts.append(spec["description"])
    return " ".join(parts)


class Ranking:
    """BM25 (Okapi) over the tools of one index."""

    def __init__(self, tools: Mapping[str, Route]) -> None:
        self.names = list(tools)
        self._tf = [Counter(words(searchable(route.item))) for route in tools.values()]
        lengths = [sum(tf.values()) for tf in self._tf]
        average = sum(lengths) / len(lengths) if lengths else 0.0
        self._norm = [length / average if average else 1.0 for length in lengths]
        self._df = Counter(word for tf in self._tf for word in tf)

    def search(self, query: str, limit: int) -> list[str]:
        """Names of the best matches for `query`, best first (ties keep index order)."""
        terms = set(words(query))
        if not terms:
            return self.names[:limit]
        count = len(self.names)
        scores = [0.0] * count
        for term in terms:
            for word in self._expand(term):
                df = self._df[word]
                idf = math.log((count - df + 0.5) / (df + 0.5) + 1.0)
                for i, tf in enumerate(self._tf):
                    n = tf.get(word, 0)
                    if n:
                        scores[i] += idf * n * (_K1 + 1) / (n + _K1 * (1 - _B + _B * self._norm[i]))
        ranked = sorted((i for i in range(count) if scores[i] > 0), key=lambda i: (-scores[i], i))
        return [self.names[i] for i in ranked[:limit]]

    def _expand(self, term: str) -> list[str]:
        if term in self._df:
            return [term]
        return [word for word in self._df if len(term) >= 3 and word.startswith(term)]


CallTool = Callable[["ServerRequestContext[Any, Any]", CallToolRequestParams], Awaitable[Any]]


class ToolSearch:
    """The search pair, for the relay: whether a client gets it, and the two tools' calls."""

    def __init__(self, policies: ActivePolicies, *, call: CallTool) -> None:
        self._call = call
        self.budget = ContextBudget(policies)
        self._rankings: dict[int, tuple[RouteIndex, Ranking]] = {}

    def active(self, principal: Principal, index: RouteIndex) -> bool:
        """Whether `principal`, seeing `index`, is served the search pair instead of the list."""
        return self.budget.searching(principal, index)

    def tools(self) -> list[dict[str, Any]]:
        """The items listed in search mode."""
        return [copy.deepcopy(SEARCH_ITEM), copy.deepcopy(CALL_ITEM)]

    async def call(
        self, ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams, index: RouteIndex
    ) -> Any:
        """Answer a call of `search_tools` or `call_tool`."""
        arguments = params.arguments or {}
        if params.name == SEARCH_TOOL:
            return complete(ctx, self._search(index, arguments))
        name, inner = arguments.get("name"), arguments.get("arguments")
        if not isinstance(name, str) or not isinstance(inner, dict | None):
            return complete(ctx, _refusal("call_tool needs `name` (a string) and `arguments` (an object)"))
        if name in NAMES:
            return complete(ctx, unknown_tool(name))
        # The same request, as if the client had called `name` itself (its `_meta`, progress
        # token and any 2026-07-28 retry state included), so nothing on the way is skipped.
        request = {**(ctx.params or {}), "name": name, "arguments": inner or {}}
        inner_ctx = dataclasses.replace(ctx, params=request)
        return await self._call(inner_ctx, CallToolRequestParams(name=name, arguments=inner or {}))

    def _search(self, index: RouteIndex, arguments: Mapping[str, Any]) -> dict[str, Any]:
        query, limit = arguments.get("query", ""), arguments.get("limit", DEFAULT_LIMIT)
        if not isinstance(query, str):
            return _refusal("search_tools needs `query`, a string")
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
            return _refusal(f"`limit` must be a whole number from 1 to {MAX_LIMIT}")
        found = []
        for name in self._ranking(index).search(query, limit):
            item = index.tools[name].item
            match = {"name": name, "title": item.get("title"), "description": item.get("description")}
            found.append(
                {k: v for k, v in match.items() if v is not None} | {"inputSchema": item.get("inputSchema")}
            )
        structured = {"tools": found}
        text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
        return {"content": [{"type": "text", "text": text}], "structuredContent": structured}

    def _ranking(self, index: RouteIndex) -> Ranking:
        cached = self._rankings.get(id(index))
        if cached is not None and cached[0] is index:
            return cached[1]
        ranking = Ranking(index.tools)
        if len(self._rankings) >= _CACHED:
            self._rankings.clear()
        self._rankings[id(index)] = (index, ranking)
        return ranking


def _refusal(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}
