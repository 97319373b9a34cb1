"""Who is calling: the principal behind a request.

Over HTTP with `auth` configured, the principal is what the verified bearer token names (see
`gateway.front.auth`): an API key's name (`ops`), or `jwt:` and a JWT's principal claim
(`jwt:alice`). The two never meet: API-key names may not start with `jwt:`, so rate buckets,
views, session ownership and audit records, which all go by the name, keep them apart. stdio and
in-process clients are local and trusted: they act as `local`. An HTTP front without `auth`
serves everyone as `anonymous`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import ServerRequestContext

from gateway.config.security import JWT_PREFIX

Kind = Literal["local", "anonymous", "api_key", "jwt"]
AUTH_KIND_CLAIM = "gateway.auth"
"""The claim a verified token carries to say how it was verified (`api_key` or `jwt`)."""
PRINCIPAL_CLAIM = "gateway.principal"
"""The claim a verified token carries with the principal's name."""


def jwt_principal_name(subject: str) -> str:
    """The name of the principal a JWT's principal claim (`sub`, by default) designates."""
    return f"{JWT_PREFIX}{subject}"


@dataclass(frozen=True)
class Principal:
    """A caller's identity, as the gateway established it (never a token)."""

    name: str
    kind: Kind
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def trusted(self) -> bool:
        """Local callers (stdio, in-process) are trusted with everything."""
        return self.kind == "local"


LOCAL = Principal("local", "local")
ANONYMOUS = Principal("anonymous", "anonymous")


def principal_of(ctx: ServerRequestContext[Any, Any]) -> Principal:
    """The principal of a front request."""
    return principal_of_scope(getattr(ctx.request, "scope", None))


def principal_of_scope(scope: object) -> Principal:
    """The principal of an HTTP request's ASGI scope (LOCAL when there is no HTTP request)."""
    if not isinstance(scope, dict):
        return LOCAL
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        token = user.access_token
        claims = getattr(token, "claims", None) or {}
        kind = claims.get(AUTH_KIND_CLAIM, "api_key")
        return Principal(
            token.client_id,
            kind if kind in ("api_key", "jwt") else "api_key",
            frozenset(token.scopes),
            claims,
        )
    return ANONYMOUS
