"""Authentication on its own: API keys by digest, JWTs with every check (RELIABILITY.md §5 item 25)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from gateway.config.security import AuthConfig
from gateway.front.auth import GatewayVerifier

OPS_KEY = "ops-key-0123456789abcdef"
PAIR = RSAKeyPair.generate()
OTHER = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"


def unsigned_jwt(
    header: dict[str, object], claims: dict[str, object], *, hmac_key: bytes | None = None
) -> str:
    """A token built by hand: `alg: none`, or HMAC with an arbitrary key (forgeries)."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    signing_input = f"{part(header)}.{part(claims)}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")


def verifier(**extra: object) -> GatewayVerifier:
    config = AuthConfig.model_validate(
        {
            "api_keys": {
                "ops": {"key": OPS_KEY, "scopes": ["admin"]},
                "ci": {"key_sha256": hashlib.sha256(b"ci-key-0123456789abcdef").hexdigest()},
            },
            "jwt": {"issuer": ISSUER, "audience": AUDIENCE, "public_key": PAIR.public_key},
            **extra,
        }
    )
    return GatewayVerifier(config)


@pytest.mark.asyncio
class TestApiKeys:
    async def test_a_configured_key_names_its_principal(self) -> None:
        token = await verifier().verify_token(OPS_KEY)
        assert token is not None and token.client_id == "ops" and token.scopes == ["admin"]
        assert OPS_KEY not in repr(token) and token.token == ""

    async def test_a_key_configured_by_digest(self) -> None:
        token = await verifier().verify_token("ci-key-0123456789abcdef")
        assert token is not None and token.client_id == "ci"

    async def test_an_unknown_key_is_refused(self) -> None:
        assert await verifier().verify_token("ops-key-0123456789abcdeX") is None

    async def test_the_verifier_never_shows_keys(self) -> None:
        assert OPS_KEY not in repr(verifier())


@pytest.mark.asyncio
class TestJwt:
    async def test_a_good_token(self) -> None:
        token = PAIR.create_token(subject="alice", issuer=ISSUER, audience=AUDIENCE, scopes=["read"])
        verified = await verifier().verify_token(token)
        assert verified is not None and verified.client_id == "alice" and verified.scopes == ["read"]

    @pytest.mark.parametrize(
        "token",
        [
            pytest.param(PAIR.create_token(issuer=ISSUER, audience="someone-else"), id="wrong audience"),
            pytest.param(
                PAIR.create_token(issuer="https://evil.example", audience=AUDIENCE), id="wrong issuer"
            ),
            pytest.param(
                PAIR.create_token(issuer=ISSUER, audience=AUDIENCE, expires_in_seconds=-60), id="expired"
            ),
            pytest.param(OTHER.create_token(issuer=ISSUER, audience=AUDIENCE), id="bad signature"),
            pytest.param(
                unsigned_jwt(
                    {"alg": "HS256"},
                    {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
                    hmac_key=PAIR.public_key.encode(),
                ),
                id="algorithm confusion (HS256 signed with the public key)",
            ),
        ],
    )
    async def test_bad_tokens_are_refused(self, token: str) -> None:
        assert await verifier().verify_token(token) is None

    async def test_alg_none_is_refused(self) -> None:
        claims = {"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
        assert await verifier().verify_token(unsigned_jwt({"alg": "none"}, claims)) is None

    async def test_a_token_without_expiry_is_refused(self) -> None:
        signing = PAIR.create_token(issuer=ISSUER, audience=AUDIENCE, additional_claims={"exp": None})
        assert await verifier().verify_token(signing) is None
