"""Configuration of the front door: who may connect, what each principal sees, how much they may
do, and what is recorded.

    auth:
      api_keys:
        ops: {key: "${OPS_KEY}", scopes: [admin]}     # or key_sha256: <hex digest>
      jwt: {issuer: ..., audience: ..., jwks_uri: ...}
    views:
      analyst: {principals: [analyst], namespaces: [analytics]}
    rate_limits: {per_principal: {rate: 10, burst: 20}, store: "${REDIS_URL}"}
    limits: {max_request_bytes: 1MiB ...}
    audit: {sink: stderr}
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from gateway.config.model_base import Frozen
from gateway.config.types import ByteCount, Glob, PositiveDuration, yaml_off

JWT_PREFIX = "jwt:"
"""Every JWT principal's name starts with this; no API key's name may (`gateway.principal`)."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
REDIS_SCHEMES = ("redis://", "rediss://")


class ApiKey(Frozen):
    """One API key. Give the key itself (from the environment) or only its SHA-256 digest."""

    key: SecretStr | None = None
    """The key, e.g. `${OPS_KEY}`; never write the key itself into the file."""
    key_sha256: str | None = None
    """Hex SHA-256 of the key, for configs that must not hold even a reference to it."""
    scopes: tuple[str, ...] = ()
    """Scopes this principal holds (for per-tool scope requirements)."""

    @field_validator("key_sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value.lower()):
            raise ValueError("must be 64 hex digits (sha256sum of the key)")
        return value.lower() if value is not None else None

    @model_validator(mode="after")
    def _one(self) -> ApiKey:
        if (self.key is None) == (self.key_sha256 is None):
            raise ValueError("give exactly one of `key` (from the environment) or `key_sha256`")
        if self.key is not None and len(self.key.get_secret_value()) < 16:
            raise ValueError("the key is shorter than 16 characters; use a long random key")
        return self


class JwtConfig(Frozen):
    """JSON Web Tokens from an authorization server."""

    issuer: str
    """Required `iss`."""
    audience: str
    """Required `aud`: tokens must be issued for this gateway (no token passthrough)."""
    jwks_uri: str | None = None
    """Where the issuer publishes its signing keys."""
    public_key: SecretStr | None = None
    """A PEM public key (or a shared secret for HS*) instead of `jwks_uri`."""
    algorithm: Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "HS256", "EdDSA"] = "RS256"
    """The one signing algorithm accepted (`none` never is)."""
    principal_claim: str = "sub"
    """The claim that names the principal."""
    scopes_claim: str = "scope"
    """The claim holding scopes (a space-separated string or a list)."""
    authorization_servers: tuple[str, ...] = ()
    """Advertised in the protected-resource metadata (RFC 9728); default: the issuer."""
    resource_url: str | None = None
    """This gateway's public URL (for the metadata); default: derived from the request."""

    @model_validator(mode="after")
    def _key_source(self) -> JwtConfig:
        if (self.jwks_uri is None) == (self.public_key is None):
            raise ValueError("give exactly one of `jwks_uri` or `public_key`")
        return self


class AuthConfig(Frozen):
    """Who may use the HTTP front. stdio is local and trusted: it is not authenticated."""

    api_keys: dict[str, ApiKey] = {}
    """Principal name → its API key (sent as `Authorization: Bearer <key>`). The name may not
    start with `jwt:`, which JWT principals' names do."""
    jwt: JwtConfig | None = None
    """Accept JWTs from one issuer. A JWT's principal is named `jwt:<principal claim>`
    (`jwt:alice`), never like an API key's."""
    required_scopes: tuple[str, ...] = ()
    """Scopes every token must carry (403 `insufficient_scope` otherwise)."""
    unviewed: Literal["all", "none"] = "all"
    """What a principal that no view selects may see: `all` (everything, minus the tools whose
    `tool_scopes` it lacks) or `none` (nothing: only principals some view selects see anything).
    Local stdio callers are trusted and always see everything."""

    @field_validator("api_keys")
    @classmethod
    def _key_names(cls, keys: dict[str, ApiKey]) -> dict[str, ApiKey]:
        for name in keys:
            if name.startswith(JWT_PREFIX):
                raise ValueError(f"the name {name!r} starts with {JWT_PREFIX!r}, reserved for JWT principals")
        return keys

    @model_validator(mode="after")
    def _something(self) -> AuthConfig:
        if not self.api_keys and self.jwt is None:
            raise ValueError(
                "configure `api_keys`, `jwt`, or both (or remove `auth` for an open local gateway)"
            )
        return self


class ViewConfig(Frozen):
    """What a group of principals may see and use. Everything else is invisible to them. A
    principal is in the first view that selects it; one that no view selects sees everything
    (minus `tool_scopes` it lacks), unless `auth.unviewed` is `none`."""

    principals: tuple[str, ...] = ()
    """Principal names, globs allowed: an API key's name (`ops`), or `jwt:` and a JWT's principal
    claim (`jwt:alice`, `jwt:*`)."""
    claims: dict[str, str] = {}
    """JWT claims that select principals (all must match; a list claim must contain the value)."""
    namespaces: tuple[Glob, ...] = ("*",)
    """Backends (by namespace) the view includes."""
    tools: tuple[Glob, ...] = ("*",)
    """Tool names (as clients see them) included."""
    prompts: tuple[Glob, ...] = ("*",)
    """Prompt names included."""
    resources: tuple[Glob, ...] = ("*",)
    """Resource URIs and URI templates included."""
    tags: tuple[str, ...] = ()
    """If set, only tools carrying one of these tags (FastMCP `_meta.fastmcp.tags`)."""
    deny_tools: tuple[Glob, ...] = ()
    """Tool names excluded even if included above."""
    deny_tags: tuple[str, ...] = ()
    """Tools carrying any of these tags are excluded."""
    require_scopes: dict[str, tuple[str, ...]] = {}
    """Tool name glob → scopes a principal needs to see and call it."""
    search_above_tokens: Annotated[int, Field(ge=1)] | None = None
    """Above this estimated size of its `tools/list` (in tokens), the view gets `search_tools` and
    `call_tool` instead of every tool; default: `gateway.search_above_tokens`."""


class Rate(Frozen):
    """A token bucket: `rate` tokens per `per`, holding at most `burst`."""

    rate: Annotated[float, Field(gt=0)]
    """Tokens added per period."""
    per: PositiveDuration = 1.0
    """The period (`1s`, `1m`)."""
    burst: Annotated[int, Field(ge=1)] | None = None
    """Bucket size (default: rate rounded up)."""

    @property
    def tokens_per_second(self) -> float:
        return self.rate / self.per

    @property
    def capacity(self) -> int:
        return self.burst if self.burst is not None else max(1, int(-(-self.rate // 1)))


class RateLimits(Frozen):
    """Limits on calls (tools/call, prompts/get, resources/read); lists and handshakes are free."""

    per_principal: Rate | None = None
    """All calls of one principal."""
    per_tool: Rate | None = None
    """Calls of one principal to one tool."""
    tools: dict[str, Rate] = {}
    """Tool name glob → a limit for that tool per principal (overrides `per_tool`)."""
    max_tracked: Annotated[int, Field(ge=100)] = 10_000
    """Buckets kept in memory at most (least recently used are dropped); the memory store only."""
    store: Literal["memory"] | SecretStr = "memory"
    """Where buckets live: `memory` (this process), or a Redis URL (`redis://` or `rediss://`,
    e.g. `${REDIS_URL}`; kept secret) that every replica shares. Redis buckets expire once idle."""
    key_prefix: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^\S+$")] = "mcp-gateway:rl:"
    """Redis key prefix: the same for every replica of one gateway, another for another gateway."""
    fail_open: bool = True
    """Redis unreachable: let calls through unlimited (with a logged warning), or refuse them."""
    store_timeout: PositiveDuration = 0.5
    """Longest wait to connect to Redis or for one answer before it counts as unreachable."""

    @field_validator("store", mode="before")
    @classmethod
    def _store(cls, value: object) -> object:
        if value == "memory" or isinstance(value, SecretStr):
            return value
        if isinstance(value, str) and value.startswith(REDIS_SCHEMES):
            try:
                parts = urlsplit(value)
                valid = bool(parts.hostname) and parts.port != 0
            except ValueError:  # a port that is not a number
                valid = False
            if not valid:  # the message never repeats the URL: it may hold a password
                raise ValueError("not a valid Redis URL (redis://[[user]:password@]host[:port][/db])")
            return SecretStr(value)
        raise ValueError("must be `memory` or a Redis URL (`redis://...` or `rediss://...`)")

    @property
    def redis_url(self) -> SecretStr | None:
        """The Redis URL, if buckets live in Redis."""
        return self.store if isinstance(self.store, SecretStr) else None


class ResultStoreConfig(Frozen):
    """Oversized tool results kept for their caller (`oversized_response: resource_link`), in
    memory, bounded; the least recently read go first."""

    max_bytes: Annotated[ByteCount, Field(ge=1024)] = 64 * 1024 * 1024
    """All kept results together (`64MiB`); a single larger result is refused."""
    max_items: Annotated[int, Field(ge=1)] = 1000
    """Results kept at most."""
    ttl: PositiveDuration = 900.0
    """How long a result can be read after the call (`15m`)."""


class Limits(Frozen):
    """Size limits, enforced before any work is done."""

    max_request_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    """HTTP request body (413 above it)."""
    request_read_timeout: PositiveDuration = 30.0
    """Longest time to receive a request body (a slow sender gets 408)."""
    max_json_depth: Annotated[int, Field(ge=4)] = 30
    """Nesting depth of a JSON-RPC message."""
    max_argument_bytes: Annotated[int, Field(ge=64)] = 256 * 1024
    """Serialized size of one call's arguments."""
    max_meta_keys: Annotated[int, Field(ge=1)] = 16
    """Keys in a request's `_meta` (besides `progressToken` and W3C trace context, which client
    libraries add by themselves)."""
    max_meta_depth: Annotated[int, Field(ge=1)] = 3
    """Nesting depth of a request's `_meta`."""
    max_meta_bytes: Annotated[int, Field(ge=64)] = 4096
    """Serialized size of a request's `_meta`."""
    max_response_bytes: Annotated[int, Field(ge=1024)] = 1_000_000
    """Serialized size of a backend's answer."""
    oversized_response: Literal["reject", "truncate", "resource_link"] = "truncate"
    """Too large an answer: refuse it, cut its text with a marker saying so, or (`resource_link`,
    tool results only; other answers are cut) keep it in `result_store` and answer with a link
    that the caller reads with `resources/read`."""
    result_store: ResultStoreConfig = ResultStoreConfig()
    """Where `resource_link` keeps oversized tool results."""


class AuditConfig(Frozen):
    """One JSON line per call: time, principal, backend, tool, argument digest, outcome, latency."""

    sink: Annotated[str, BeforeValidator(yaml_off)] = "off"
    """`off`, `stderr`, `stdout`, or a file path (appended to)."""


class CorsConfig(Frozen):
    """Cross-origin access for browser clients (off unless origins are listed)."""

    allow_origins: tuple[str, ...] = ()
    """Origins that may call the endpoint from a browser."""
    allow_headers: tuple[str, ...] = (
        "authorization",
        "content-type",
        "mcp-protocol-version",
        "mcp-session-id",
    )
    """Request headers browsers may send."""
    max_age: Annotated[int, Field(ge=0)] = 600
    """Seconds browsers may cache the preflight answer."""


class EgressConfig(Frozen):
    """Where the gateway may connect to reach backends (an SSRF guard; see `gateway.egress`)."""

    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128", "localhost")
    """CIDR ranges and host names backends may be at. Add your backends' networks."""


class IdentityHeader(Frozen):
    """Pass the caller's identity to a backend as a plain, non-secret header."""

    header: str = Field(default="X-Gateway-Principal", pattern=r"^[A-Za-z0-9-]+$")
    """Header name; its value is the principal's name (`ops`, `jwt:alice`; never a token)."""
