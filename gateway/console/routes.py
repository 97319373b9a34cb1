"""The console's HTTP surface, installed as the front server's own routes:

    GET  /ui, /ui/<page>             the page (one document; the scripts route between pages)
    GET  /ui/static/<file>           its scripts, stylesheet, icon and charting library
    GET  /ui/api/door                whether the console needs credentials (it needs none)
    GET  /ui/api/me                  who is signed in, and what the console may show them
    GET  /ui/api/backends            every backend's state and recent figures
    GET  /ui/api/principals          whom an admin can look as on the catalog page
    GET  /ui/api/catalog             a principal's view: names, sources, budget, lockfile drift
    GET  /ui/api/calls?after=N       audit records after the N-th
    GET  /ui/api/charts              sampled calls/s, errors and latency per backend
    GET  /ui/api/workflows           each workflow's steps and rounds
    GET  /ui/api/config              the effective configuration, secrets masked    (admin)
    POST /ui/api/config/check        check the file, or a candidate text            (admin)
    POST /ui/api/config/reload       reload the file                                (admin)

Calls themselves go through `/mcp`, as any client's do. API answers are never cached; a POST
must be `application/json` (so another site cannot send one without a CORS preflight, which the
gateway does not grant) and no larger than `limits.max_request_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastmcp import FastMCP
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.console.access import SECURITY_HEADERS, ConsoleAccess, Visitor, refusal
from gateway.console.assets import load_assets
from gateway.console.service import MAX_CALLS, Console, Forbidden

PREFIX = "/ui"
PAGES = ("backends", "catalog", "playground", "calls", "charts", "workflows", "config")
Handler = Callable[[Request, Visitor], Awaitable[Any]]


def install_console(server: FastMCP[Any], console: Console, access: ConsoleAccess, *, max_body: int) -> None:
    """Add the console's routes to the server's HTTP app."""
    assets = load_assets()
    page = assets["index.html"]

    @server.custom_route(PREFIX, methods=["GET"])
    async def index(request: Request) -> Response:
        return access.blocked(request) or page.response(request)

    @server.custom_route(PREFIX + "/{page}", methods=["GET"])
    async def named_page(request: Request) -> Response:
        if request.path_params["page"] not in PAGES:
            return refusal(404, "no such console page")
        return access.blocked(request) or page.response(request)

    @server.custom_route(PREFIX + "/static/{path:path}", methods=["GET"])
    async def static(request: Request) -> Response:
        blocked = access.blocked(request)
        if blocked is not None:
            return blocked
        asset = assets.get(request.path_params["path"])
        return asset.response(request) if asset is not None else refusal(404, "no such file")

    def api(path: str, handler: Handler, *, method: str = "GET", admin: bool = False) -> None:
        async def endpoint(request: Request) -> Response:
            visitor = access.visitor(request)
            if isinstance(visitor, Response):
                return visitor
            console.seen()
            if admin and not visitor.admin:
                return refusal(403, "this needs the admin scope")
            try:
                body = await handler(request, visitor)
            except Forbidden as error:
                return refusal(403, str(error))
            except _BadRequest as error:
                return refusal(error.status, str(error))
            if isinstance(body, Response):
                return body
            return JSONResponse(body, headers={**SECURITY_HEADERS, "cache-control": "no-store"})

        server.custom_route(f"{PREFIX}/api/{path}", methods=[method])(endpoint)

    async def me(request: Request, visitor: Visitor) -> Any:
        return console.me(visitor, auth=not access.open)

    async def backends(request: Request, visitor: Visitor) -> Any:
        return console.backends(visitor)

    async def principals(request: Request, visitor: Visitor) -> Any:
        return console.principals(visitor)

    async def catalog(request: Request, visitor: Visitor) -> Any:
        query = request.query_params
        scopes = frozenset(s for s in query.get("scopes", "").replace(",", " ").split() if s)
        return console.catalog_for(visitor, query.get("principal") or None, scopes)

    async def calls(request: Request, visitor: Visitor) -> Any:
        after = _number(request.query_params.get("after"), 0)
        limit = max(1, min(_number(request.query_params.get("limit"), MAX_CALLS), MAX_CALLS))
        return console.calls(visitor, after, limit)

    async def charts(request: Request, visitor: Visitor) -> Any:
        return console.charts(visitor)

    async def workflows(request: Request, visitor: Visitor) -> Any:
        return console.workflow_graphs(visitor)

    async def config(request: Request, visitor: Visitor) -> Any:
        return console.config.effective()

    async def check(request: Request, visitor: Visitor) -> Any:
        body = await _json_body(request, max_body)
        text = body.get("text")
        if text is None:
            return console.config.check_file()
        if not isinstance(text, str):
            raise _BadRequest("`text` must be a string")
        return console.config.check_text(text)

    async def reload(request: Request, visitor: Visitor) -> Any:
        await _json_body(request, max_body)
        outcome = await console.config.reload()
        if outcome is None:
            return refusal(409, "reload is available while `gateway run` watches a config file")
        return outcome

    @server.custom_route(PREFIX + "/api/door", methods=["GET"])
    async def door(request: Request) -> Response:
        blocked = access.blocked(request)
        if blocked is not None:
            return blocked
        return JSONResponse(
            {"auth": not access.open}, headers={**SECURITY_HEADERS, "cache-control": "no-store"}
        )

    api("me", me)
    api("backends", backends)
    api("principals", principals)
    api("catalog", catalog)
    api("calls", calls)
    api("charts", charts)
    api("workflows", workflows)
    api("config", config, admin=True)
    api("config/check", check, method="POST", admin=True)
    api("config/reload", reload, method="POST", admin=True)

    @server.custom_route(PREFIX + "/api/{rest:path}", methods=["GET", "POST"])
    async def unknown(request: Request) -> Response:
        return access.blocked(request) or refusal(404, "no such console endpoint")


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        raise _BadRequest(f"not a number: {text!r}") from None


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    """The request's JSON object (an empty body is `{}`), read no further than `limit` bytes."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise _BadRequest("send application/json", 415)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BadRequest(f"the body exceeds {limit} bytes", 413)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise _BadRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    return value
