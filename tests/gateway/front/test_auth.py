"""Authentication on its own: API keys by digest, JWTs with every check (RELIABILITY.md §5 item 25)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from gateway.config.security import AuthConfig
from gateway.front.auth import CLOCK_LEEWAY_SECONDS, GatewayVerifier

OPS_KEY = "ops-key-0123456789abcdef"
PAIR = RSAKeyPair.generate()
OTHER = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway"
NOW = float(int(time.time()))
"""The verifier's clock in the tests of time claims (tokens are issued around the real time)."""
TEN_YEARS = 10 * 365 * 24 * 3600


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


def verifier(*, clock: Callable[[], float] = time.time, **extra: object) -> GatewayVerifier:
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
    return GatewayVerifier(config, clock=clock)


def token_with(**claims: object) -> str:
    """A well-signed token for this gateway with `claims` added (or overriding the defaults)."""
    return PAIR.create_token(subject="alice", issuer=ISSUER, audience=AUDIENCE, additional_claims=claims)


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
        assert verified is not None and verified.client_id == "jwt:alice" and verified.scopes == ["read"]

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


@pytest.mark.asyncio
class TestJwtTimeClaims:
    async def test_a_token_valid_only_in_ten_years_is_refused_now(self) -> None:
        """`nbf` in the future: the token is not valid yet."""
        token = token_with(nbf=NOW + TEN_YEARS, exp=NOW + TEN_YEARS + 3600)
        assert await verifier(clock=lambda: NOW).verify_token(token) is None

    async def test_a_token_not_valid_until_just_past_the_leeway_is_refused(self) -> None:
        """The leeway for clock skew is a named constant, and not a second more."""
        token = token_with(nbf=NOW + CLOCK_LEEWAY_SECONDS + 1, iat=NOW)
        assert await verifier(clock=lambda: NOW).verify_token(token) is None

    async def test_an_nbf_within_the_clock_leeway_is_accepted(self) -> None:
        """An issuer's clock a little ahead of ours does not lock its tokens out."""
        token = token_with(nbf=NOW + CLOCK_LEEWAY_SECONDS - 1, iat=NOW)
        assert await verifier(clock=lambda: NOW).verify_token(token) is not None

    async def test_a_token_issued_in_the_future_is_refused(self) -> None:
        """`iat` further ahead than the leeway: the issuer's clock is wrong, or the token forged."""
        token = token_with(iat=NOW + CLOCK_LEEWAY_SECONDS + 1)
        assert await verifier(clock=lambda: NOW).verify_token(token) is None

    async def test_an_iat_within_the_clock_leeway_is_accepted(self) -> None:
        """A token issued a few seconds ahead of our clock is accepted."""
        token = token_with(iat=NOW + CLOCK_LEEWAY_SECONDS - 1)
        assert await verifier(clock=lambda: NOW).verify_token(token) is not None

    @pytest.mark.parametrize("claim", ["nbf", "iat"])
    async def test_a_time_claim_that_is_not_a_number_is_refused(self, claim: str) -> None:
        """A malformed `nbf` or `iat` is never read as absent."""
        assert await verifier(clock=lambda: NOW).verify_token(token_with(**{claim: "soon"})) is None


@pytest.mark.asyncio
class TestPrincipalNamespaces:
    async def test_a_jwt_subject_named_like_an_api_key_is_a_different_principal(self) -> None:
        """A JWT with `sub=ops` is `jwt:ops`, never the API-key principal `ops`."""
        key = await verifier().verify_token(OPS_KEY)
        jwt = await verifier().verify_token(token_with(sub="ops"))
        assert key is not None and jwt is not None
        assert key.client_id == "ops" and jwt.client_id == "jwt:ops"
        assert jwt.claims["gateway.principal"] == "jwt:ops" and jwt.claims["sub"] == "ops"
        assert jwt.scopes == [] and key.scopes == ["admin"]
