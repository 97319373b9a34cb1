"""Authentication at the HTTP front: API keys and JWTs, both as `Authorization: Bearer`.

API keys are held only as SHA-256 digests (from the key in the environment, or the digest in
the config) and compared in constant time against every configured key. JWTs are verified by
FastMCP's `JWTVerifier` (signature with the one configured algorithm, issuer, audience,
expiry), and the gateway further requires an `exp` claim in the future and refuses a token
that is not valid yet (`nbf`) or was issued in the future (`iat`), allowing the issuer's clock
to run `CLOCK_LEEWAY_SECONDS` ahead of ours. A verified token becomes a principal: a name and
its scopes. An API key's principal is named by its key in `auth.api_keys` (`ops`); a JWT's is
`jwt:<principal claim>` (`jwt:alice`), so a token can never pass for an API key's principal,
its rate buckets or its view. The token itself never leaves this module: it is not kept in the
principal, not logged, not audited, and never sent to a backend.

When JWTs are configured, the front serves the OAuth protected-resource metadata (RFC 9728)
and points clients at it from `WWW-Authenticate`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, TypeGuard

from fastmcp.server.auth import AccessToken, AuthProvider, RemoteAuthProvider, TokenVerifier
from fastmcp.server.auth.providers.jwt import JWTVerifier
from pydantic import AnyHttpUrl

from gateway.config.security import AuthConfig, JwtConfig
from gateway.principal import AUTH_KIND_CLAIM, PRINCIPAL_CLAIM, jwt_principal_name

CLOCK_LEEWAY_SECONDS = 60
"""How far ahead of ours the issuer's clock may be: a JWT whose `nbf` (not before) or `iat`
(issued at) lies further in the future than this is refused."""


def key_digest(key: str) -> bytes:
    """The SHA-256 digest an API key is kept as."""
    return hashlib.sha256(key.encode()).digest()


class GatewayVerifier(TokenVerifier):
    """Turns a bearer token into a principal, or refuses it."""

    def __init__(self, config: AuthConfig, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(required_scopes=list(config.required_scopes))
        self._clock = clock
        self._keys: list[tuple[bytes, str, tuple[str, ...]]] = []
        for principal, api_key in config.api_keys.items():
            digest = (
                key_digest(api_key.key.get_secret_value())
                if api_key.key is not None
                else bytes.fromhex(api_key.key_sha256 or "")
            )
            self._keys.append((digest, principal, api_key.scopes))
        self._jwt_config = config.jwt
        self._jwt = _jwt_verifier(config.jwt) if config.jwt is not None else None

    def __repr__(self) -> str:
        return f"<GatewayVerifier api_keys={len(self._keys)} jwt={'on' if self._jwt else 'off'}>"

    async def verify_token(self, token: str) -> AccessToken | None:
        matched = self._match_key(token)
        if matched is not None:
            key_name, scopes = matched
            return AccessToken(
                token="",  # deliberately empty: the key is not kept beyond this check
                client_id=key_name,
                scopes=list(scopes),
                claims={PRINCIPAL_CLAIM: key_name, AUTH_KIND_CLAIM: "api_key"},
            )
        if self._jwt is None or self._jwt_config is None or token.count(".") != 2:
            return None
        verified = await self._jwt.verify_token(token)
        if verified is None:
            return None
        claims = dict(verified.claims or {})
        if not _valid_now(claims, self._clock()):
            return None
        subject = claims.get(self._jwt_config.principal_claim)
        if not isinstance(subject, str) or not subject:
            return None
        name = jwt_principal_name(subject)
        return AccessToken(
            token="",  # not kept
            client_id=name,
            scopes=_scopes(claims.get(self._jwt_config.scopes_claim)),
            expires_at=int(claims["exp"]),
            claims={**claims, PRINCIPAL_CLAIM: name, AUTH_KIND_CLAIM: "jwt"},
        )

    def _match_key(self, token: str) -> tuple[str, tuple[str, ...]] | None:
        """Compare against every key (same work whichever matches, or none)."""
        digest = key_digest(token)
        found: tuple[str, tuple[str, ...]] | None = None
        for key, principal, scopes in self._keys:
            if hmac.compare_digest(digest, key):
                found = (principal, scopes)
        return found


def _valid_now(claims: dict[str, Any], now: float) -> bool:
    """Whether the token's time claims make it valid at `now`: an `exp` (required) after it, and
    an `nbf` and `iat` (optional) no later than `CLOCK_LEEWAY_SECONDS` after it."""
    expires = claims.get("exp")
    if not _is_time(expires) or expires <= now:
        return False  # a token without an expiry is not accepted
    for claim in ("nbf", "iat"):
        value = claims.get(claim)
        if value is not None and (not _is_time(value) or value > now + CLOCK_LEEWAY_SECONDS):
            return False  # not valid yet, issued in the future, or malformed
    return True


def _is_time(value: Any) -> TypeGuard[int | float]:
    """A NumericDate: seconds since the epoch, as a JSON number (`true` is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _jwt_verifier(config: JwtConfig) -> JWTVerifier:
    return JWTVerifier(
        public_key=config.public_key.get_secret_value() if config.public_key is not None else None,
        jwks_uri=config.jwks_uri,
        issuer=config.issuer,
        audience=config.audience,
        algorithm=config.algorithm,
    )


def _scopes(value: Any) -> list[str]:
    if isinstance(value, str):
        return [s for s in value.split() if s]
    if isinstance(value, list):
        return [str(s) for s in value]
    return []


def build_auth(config: AuthConfig | None, *, base_url: str | None) -> AuthProvider | None:
    """The FastMCP auth provider for the front, or None for an open gateway."""
    if config is None:
        return None
    verifier = GatewayVerifier(config)
    jwt = config.jwt
    if jwt is None or base_url is None:
        return verifier
    servers = [AnyHttpUrl(s) for s in (jwt.authorization_servers or (jwt.issuer,))]
    return RemoteAuthProvider(
        verifier,
        authorization_servers=servers,
        base_url=jwt.resource_url or base_url,
        resource_name="mcp-gateway",
    )
