"""Authentication at the HTTP front: API keys and JWTs, both as `Authorization: Bearer`.

API keys are held only as SHA-256 digests (from the key in the environment, or the digest in
the config) and compared in constant time against every configured key. JWTs are verified by
FastMCP's `JWTVerifier` (signature with the one configured algorithm, issuer, audience,
expiry), and the gateway further requires an `exp` claim. A verified token becomes a
principal: a name and its scopes. The token itself never leaves this module: it is not kept
in the principal, not logged, not audited, and never sent to a backend.

When JWTs are configured, the front serves the OAuth protected-resource metadata (RFC 9728)
and points clients at it from `WWW-Authenticate`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

from fastmcp.server.auth import AccessToken, AuthProvider, RemoteAuthProvider, TokenVerifier
from fastmcp.server.auth.providers.jwt import JWTVerifier
from pydantic import AnyHttpUrl

from gateway.config.security import AuthConfig, JwtConfig
from gateway.principal import AUTH_KIND_CLAIM, PRINCIPAL_CLAIM


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
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= self._clock():
            return None  # a token without an expiry is not accepted
        name = claims.get(self._jwt_config.principal_claim)
        if not isinstance(name, str) or not name:
            return None
        return AccessToken(
            token="",  # not kept
            client_id=name,
            scopes=_scopes(claims.get(self._jwt_config.scopes_claim)),
            expires_at=int(expires),
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
