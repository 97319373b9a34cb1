"""A lean MCP client: raw JSON-RPC over one keep-alive HTTP connection, both protocol eras.

It does the least a client can do per call (one POST, parse the one answer with orjson), so the
time it measures is the server side. The official SDK client adds its own costs on top. (With
the standard library's json, parsing a 10-backend `tools/list`, 78 kB, took 3.8 ms of a p50 the
gateway serves in 1.5 ms; `bench.measure.list_latency` reports that parse beside the p50.)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import ssl
from typing import Any

import httpx2
import orjson

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
CLIENT_INFO = {"name": "bench-lean", "version": "1"}
TLS = ssl.create_default_context()
"""One TLS context for every client the suite opens: building one per client (loading the CA
bundle) costs ~50 ms, which made opening 32 clients take longer than measuring them."""


class CallFailed(Exception):
    """The server answered with a JSON-RPC error or a tool error."""


class LeanClient:
    """`async with LeanClient(url, era) as c: await c.call_tool("echo", {...})`."""

    def __init__(self, url: str, era: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.era = era
        self._ids = itertools.count(1)
        self._http = httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1), timeout=60.0, verify=TLS
        )
        self._headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        self._headers.update(headers or {})
        self.last_body = b""
        """The body of the last answer (what a client would have to parse)."""

    async def __aenter__(self) -> LeanClient:
        if self.era == LEGACY:
            init = {
                "protocolVersion": LEGACY,
                "capabilities": {},
                "clientInfo": CLIENT_INFO,
            }
            response = await self._post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})
            session = response.headers.get("mcp-session-id")
            if session is not None:  # a stateless server (ContextForge) issues none
                self._headers["mcp-session-id"] = session
            self._headers["mcp-protocol-version"] = LEGACY
            await self._http.post(
                self.url,
                content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                headers=self._headers,
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if "mcp-session-id" in self._headers:
            with contextlib.suppress(httpx2.HTTPError):
                await self._http.delete(self.url, headers=self._headers)
        await self._http.aclose()

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request; return its result or raise `CallFailed`."""
        params = dict(params or {})
        headers = self._headers
        if self.era == MODERN:
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
            headers = {**headers, "mcp-protocol-version": MODERN, "mcp-method": method}
            named = params.get("uri" if method == "resources/read" else "name")
            if named is not None:
                headers["mcp-name"] = named
        message = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = await self._post(message, headers)
        self.last_body = response.content
        answer = _answer(response)
        if "error" in answer:
            raise CallFailed(answer["error"].get("message", "error"))
        result: dict[str, Any] = answer["result"]
        if result.get("isError"):
            raise CallFailed(str(result.get("content")))
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments})

    async def _post(self, message: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
        body = json.dumps(message)
        response = await self._http.post(self.url, content=body, headers=headers or self._headers)
        if response.status_code >= 400:
            raise CallFailed(f"HTTP {response.status_code}: {response.text[:200]}")
        return response


def _answer(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a plain JSON body or in a (one-event) SSE stream."""
    if response.headers.get("content-type", "").startswith("application/json"):
        parsed: dict[str, Any] = orjson.loads(response.content)
        return parsed
    for line in response.text.splitlines():
        if line.startswith("data:"):
            message = orjson.loads(line[5:])
            if "id" in message and ("result" in message or "error" in message):
                answer: dict[str, Any] = message
                return answer
    raise CallFailed(f"no JSON-RPC answer in the response: {response.text[:200]!r}")


__all__ = ["LEGACY", "MODERN", "TLS", "CallFailed", "LeanClient"]
