"""What a bad credential gets at the HTTP front (RELIABILITY.md §5 item 25): every rejected JWT a
401 whose `WWW-Authenticate` points at the protected-resource metadata, a missing scope a 403
`insufficient_scope`, a token in the query string refused even beside a good header.

The gateway's real HTTP app in process (authentication middleware included), no socket.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

from tests.conftest import make_gateway
from tests.gateway.front.raw import HEADERS, INIT

PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway-tests"
KEY = "ops-key-0123456789abcdef"
CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{KEY}", scopes: [mcp]}}
  jwt: {{issuer: "{ISSUER}", audience: {AUDIENCE}, public_key: "${{JWT_PUBLIC_KEY}}"}}
  required_scopes: [mcp]
backends:
  echo: {{module: tests.fakes.echo}}
"""
METADATA = 'resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp"'


def alg_none() -> str:
    """A token with every claim right, `alg: none` and no signature."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"sub": "a", "iss": ISSUER, "aud": AUDIENCE, "scope": "mcp", "exp": int(time.time()) + 600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


BAD_TOKENS = [
    pytest.param(
        PAIR.create_token(subject="a", issuer=ISSUER, audience="someone-else", scopes=["mcp"]), id="wrong aud"
    ),
    pytest.param(
        PAIR.create_token(subject="a", issuer="https://evil.example", audience=AUDIENCE, scopes=["mcp"]),
        id="wrong iss",
    ),
    pytest.param(
        PAIR.create_token(
            subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["mcp"], expires_in_seconds=-60
        ),
        id="expired",
    ),
    pytest.param(alg_none(), id="alg none"),
    pytest.param(
        RSAKeyPair.generate().create_token(subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["mcp"]),
        id="bad signature",
    ),
]


@asynccontextmanager
async def front() -> AsyncIterator[httpx2.AsyncClient]:
    gateway = make_gateway(CONFIG, environ={"JWT_PUBLIC_KEY": PAIR.public_key})
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as client,
    ):
        yield client


def bearer(token: str) -> dict[str, str]:
    return {**HEADERS, "authorization": f"Bearer {token}"}


@pytest.mark.asyncio
class TestChallenges:
    @pytest.mark.parametrize("token", BAD_TOKENS)
    async def test_a_rejected_jwt_is_401_with_a_challenge_naming_the_metadata(self, token: str) -> None:
        async with front() as client:
            response = await client.post("/mcp", json=INIT, headers=bearer(token))
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
        assert METADATA in challenge

    async def test_the_same_jwt_well_formed_is_served(self) -> None:
        """The control: the rejections above are the claims', not the front's."""
        token = PAIR.create_token(subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["mcp"])
        async with front() as client:
            response = await client.post("/mcp", json=INIT, headers=bearer(token))
        assert response.status_code == 200, response.text

    async def test_a_jwt_without_the_required_scope_is_403_insufficient_scope(self) -> None:
        token = PAIR.create_token(subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["other"])
        async with front() as client:
            response = await client.post("/mcp", json=INIT, headers=bearer(token))
        assert response.status_code == 403
        challenge = response.headers["www-authenticate"]
        assert 'error="insufficient_scope"' in challenge and 'scope="mcp"' in challenge
        assert METADATA in challenge

    @pytest.mark.parametrize("name", ["access_token", "token", "api_key"])
    async def test_a_token_in_the_query_string_is_refused_even_beside_a_good_header(self, name: str) -> None:
        async with front() as client:
            response = await client.post(f"/mcp?{name}={KEY}", json=INIT, headers=bearer(KEY))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'
