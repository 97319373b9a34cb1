"""A small REST API and its OpenAPI document, served by uvicorn in a thread, for the `openapi:`
backend tests. It records every request it receives (method, path, query, headers, body).

    with serve_api(token="t0ken") as api:
        api.url                      # http://127.0.0.1:<port>
        api.document()               # the OpenAPI 3.1 document, servers[0] = <url>/api
        api.requests                 # what the API saw
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from tests.conftest import free_port

ITEM = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}


@dataclass
class Seen:
    """One request as the API received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Api:
    """The running API."""

    url: str
    token: str
    requests: list[Seen] = field(default_factory=list)
    items: dict[int, dict[str, Any]] = field(default_factory=dict)
    flaky_left: int = 0
    """How many more times `/flaky/openapi.json` answers 503 before it serves the document."""

    def reset(self) -> None:
        self.requests.clear()
        self.items.clear()
        self.items.update({1: {"id": 1, "name": "apple"}, 2: {"id": 2, "name": "pear"}})
        self.flaky_left = 0

    def calls(self) -> list[Seen]:
        """Requests to the API's operations (not to its document)."""
        return [r for r in self.requests if r.path.startswith("/api/")]

    def document(
        self, *, servers: list[dict[str, Any]] | None = None, header_parameters: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The OpenAPI document; `servers` default to this API's `/api`. With `header_parameters`,
        it also has `GET /tenant` (`tenant`), which declares them besides `X-Tenant`."""
        ok = {
            "description": "ok",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
        }
        document: dict[str, Any] = {
            "openapi": "3.1.0",
            "info": {"title": "Shop", "version": "1.0", "description": "A tiny shop of items."},
            "servers": servers if servers is not None else [{"url": f"{self.url}/api"}],
            "paths": {
                "/items": {
                    "get": {
                        "operationId": "listItems",
                        "summary": "List the items",
                        "parameters": [
                            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}
                        ],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/Item"},
                                        }
                                    }
                                },
                            }
                        },
                    },
                    "post": {
                        "operationId": "createItem",
                        "summary": "Create an item",
                        "requestBody": {
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"name": {"type": "string"}},
                                        "required": ["name"],
                                    }
                                }
                            },
                        },
                        "responses": {"201": ok},
                    },
                },
                "/items/{item_id}": {
                    "get": {
                        "operationId": "getItem",
                        "summary": "One item by id",
                        "parameters": [
                            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                        ],
                        "responses": {"200": ok, "404": {"description": "no such item"}},
                    }
                },
                "/me": {
                    "get": {
                        "operationId": "whoami",
                        "summary": "Who the API thinks is calling (needs the bearer token)",
                        "responses": {"200": {"description": "ok"}, "401": {"description": "no token"}},
                    }
                },
                "/echo-auth": {
                    "get": {
                        "operationId": "echoAuth",
                        "summary": "Fails, repeating the credentials it was sent",
                        "responses": {"400": {"description": "always"}},
                    }
                },
                "/slow": {
                    "get": {
                        "operationId": "slow",
                        "parameters": [
                            {"name": "seconds", "in": "query", "required": True, "schema": {"type": "number"}}
                        ],
                        "responses": {"200": {"description": "ok"}},
                    }
                },
            },
            "components": {"schemas": {"Item": ITEM}},
        }
        if header_parameters:
            document["paths"]["/tenant"] = tenant_operation(header_parameters)
            document["components"]["parameters"] = {"Cookie": header_parameter("Cookie")}
        return document


def header_parameter(name: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}}


def tenant_operation(header_parameters: Sequence[str]) -> dict[str, Any]:
    """`GET /tenant`: `X-Tenant` and `header_parameters` in the operation, and a `Cookie` header
    parameter for the whole path, by reference."""
    return {
        "parameters": [{"$ref": "#/components/parameters/Cookie"}],
        "get": {
            "operationId": "tenant",
            "summary": "The tenant named by the X-Tenant header",
            "parameters": [
                header_parameter("X-Tenant", required=True),
                *(header_parameter(name) for name in header_parameters),
            ],
            "responses": {"200": {"description": "ok"}},
        },
    }


def build_app(api: Api) -> Starlette:
    """The API's routes, under `/api`, and its document at `/openapi.json` (`/flaky/...` fails first)."""

    async def record(request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        api.requests.append(
            Seen(request.method, request.url.path, dict(request.query_params), dict(request.headers), body)
        )
        return body

    async def list_items(request: Request) -> Response:
        await record(request)
        items = list(api.items.values())
        limit = request.query_params.get("limit")
        return JSONResponse(items[: int(limit)] if limit else items)

    async def create_item(request: Request) -> Response:
        body = await record(request)
        item = {"id": max(api.items, default=0) + 1, "name": body["name"]}
        api.items[item["id"]] = item
        return JSONResponse(item, status_code=201)

    async def get_item(request: Request) -> Response:
        await record(request)
        item_id = int(request.path_params["item_id"])
        if item_id == 500:
            return JSONResponse({"detail": "the database is on fire"}, status_code=500)
        if item_id not in api.items:
            return JSONResponse({"detail": "no such item"}, status_code=404)
        return JSONResponse(api.items[item_id])

    async def whoami(request: Request) -> Response:
        await record(request)
        if request.headers.get("authorization") != f"Bearer {api.token}":
            return JSONResponse({"detail": "missing or wrong bearer token"}, status_code=401)
        return JSONResponse({"user": "gateway"})

    async def echo_auth(request: Request) -> Response:
        await record(request)
        return JSONResponse({"detail": f"refusing {request.headers.get('authorization')}"}, status_code=400)

    async def tenant(request: Request) -> Response:
        await record(request)
        return JSONResponse({"tenant": request.headers.get("x-tenant")})

    async def slow(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(float(request.query_params["seconds"]))
        return JSONResponse({"slept": True})

    async def document(request: Request) -> Response:
        api.requests.append(Seen(request.method, request.url.path, {}, dict(request.headers), None))
        return JSONResponse(api.document(servers=[{"url": "/api"}]))

    async def flaky_document(request: Request) -> Response:
        if api.flaky_left > 0:
            api.flaky_left -= 1
            api.requests.append(Seen(request.method, request.url.path, {}, dict(request.headers), None))
            return JSONResponse({"detail": "try later"}, status_code=503)
        return await document(request)

    return Starlette(
        routes=[
            Mount(
                "/api",
                routes=[
                    Route("/items", list_items, methods=["GET"]),
                    Route("/items", create_item, methods=["POST"]),
                    Route("/items/{item_id:int}", get_item),
                    Route("/me", whoami),
                    Route("/echo-auth", echo_auth),
                    Route("/slow", slow),
                    Route("/tenant", tenant),
                ],
            ),
            Route("/openapi.json", document),
            Route("/flaky/openapi.json", flaky_document),
        ]
    )


@contextmanager
def serve_api(*, token: str) -> Iterator[Api]:
    """Serve the API on 127.0.0.1:<free port> in a thread until the block ends."""
    port = free_port()
    api = Api(url=f"http://127.0.0.1:{port}", token=token)
    api.reset()
    server = uvicorn.Server(
        uvicorn.Config(build_app(api), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="rest-api", daemon=True)
    thread.start()
    try:
        _wait_until_it_answers(f"{api.url}/openapi.json", thread)
        api.requests.clear()
        yield api
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_until_it_answers(url: str, thread: threading.Thread, *, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    delay = 0.005
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise AssertionError("the REST API thread died before it answered")
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(delay)  # polling for readiness, not a fixed wait
        delay = min(delay * 2, 0.1)
    raise AssertionError(f"{url} did not answer within {within}s")
