"""The configuration tree: `gateway.yaml` as typed, frozen objects.

Every model forbids unknown keys (a typo is an error that names its path), every field has a
description (it becomes the JSON Schema that editors use) and every default is written here, in
code, where the schema shows it. Nothing else in the gateway reads YAML or the environment.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from gateway.config.model_base import Frozen
from gateway.config.openapi import QUERY_CREDENTIALS_ADVICE, OpenApiConfig, has_query_credentials
from gateway.config.resilience import CircuitBreaker, HealthCheck, RetryPolicy
from gateway.config.security import (
    AuditConfig,
    AuthConfig,
    CorsConfig,
    EgressConfig,
    IdentityHeader,
    Limits,
    Rate,
    RateLimits,
    ViewConfig,
)
from gateway.config.types import Duration, Glob, Name, PositiveDuration, yaml_off
from gateway.config.workflows import Workflow
from gateway.egress import Egress, EgressError

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_SESSION_IDLE_TIMEOUT = 1800.0
DEFAULT_MAX_SESSIONS_STDIO = 1
DEFAULT_MAX_SESSIONS_SHARED = 64
DEFAULT_MAX_CLIENT_SESSIONS_STDIO = 16
DEFAULT_MAX_CLIENT_SESSIONS_SHARED = 256
DEFAULT_MAX_CLIENT_SESSIONS_PER_PRINCIPAL = 8
DEFAULT_LOCKFILE = "gateway.lock"

BackendKind = Literal["stdio", "http", "sse", "module", "openapi"]
ProtocolMode = Literal["auto", "legacy", "2026-07-28"]
SessionScope = Literal["pooled", "per_client"]
LockPolicy = Literal["off", "warn", "block"]


class ComponentFilter(Frozen):
    """Which of a backend's tools (or prompts) the gateway serves, and under which names."""

    include: tuple[Glob, ...] = ()
    """Patterns of backend names to serve; empty means all."""
    exclude: tuple[Glob, ...] = ()
    """Patterns of backend names to hide; applied after `include`."""
    rename: dict[str, Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = {}
    """Backend name → new name, applied before the namespace prefix."""


class ResourceFilter(Frozen):
    """Which of a backend's resources and resource templates the gateway serves (by URI)."""

    include: tuple[Glob, ...] = ()
    """URI patterns to serve; empty means all."""
    exclude: tuple[Glob, ...] = ()
    """URI patterns to hide; applied after `include`."""


class BackendConfig(Frozen):
    """One MCP server behind the gateway. Exactly one of `command`, `url`, `module`, `openapi`."""

    command: tuple[str, ...] | None = Field(default=None, min_length=1)
    """Start the backend as a stdio subprocess: program and arguments. A leading `python` or
    `python3` runs the gateway's own interpreter."""
    url: str | None = None
    """Reach the backend over HTTP: streamable HTTP, or SSE when the path ends in `/sse`. No
    credentials in it (user info, or query parameters such as `token`, `api_key`, `sig`): give
    them in `headers` with `${VAR}`."""
    module: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
    """Mount a FastMCP server in-process: `package.module` (attribute `mcp`) or `package.module:attr`."""
    openapi: OpenApiConfig | None = None
    """Serve a REST API as tools, one per operation of its OpenAPI document (in-process)."""
    namespace: Annotated[str, Field(pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]*)?$", max_length=48)] | None = None
    """Prefix of this backend's tool and prompt names (`<namespace>_<name>`) and resource URIs;
    defaults to the backend's key; `""` means no prefix."""
    description: str | None = None
    """What this backend is, for operators (shown by `gateway list`)."""

    env: dict[str, str] = {}
    """stdio: environment variables added to the child's environment."""
    cwd: str | None = None
    """stdio: working directory of the child (default: the directory of gateway.yaml)."""
    headers: dict[str, SecretStr] = {}
    """http/sse: headers sent to the backend on every request (credentials: use `${VAR}`)."""
    bearer_token: SecretStr | None = None
    """http/sse: this backend's own token, sent as `Authorization: Bearer` (never the caller's)."""
    forward_identity: IdentityHeader | None = None
    """http/sse: tell the backend who is calling, as a plain header (the principal's name)."""
    rate_limit: Rate | None = None
    """Calls to this backend from everyone together (protects the backend)."""

    mode: ProtocolMode = "auto"
    """Protocol era toward the backend. `auto`: the era the client speaks, where the backend
    speaks it too (a handshake-era client's sampling, elicitation and roots are pushes, which need
    a handshake-era backend session); the other era, translated, where it does not. `legacy` or
    `2026-07-28` pins one era for every client."""
    session: SessionScope = "per_client"
    """`per_client` (the default): a handshake-era client gets a backend session of its own,
    opened on its first request that needs this backend and closed with its session, so whatever
    the backend keeps per session (roots, log level, subscriptions, resources made in the session,
    the client's capabilities) stays that client's, as it would directly; 2026-07-28 calls, which
    are stateless, share sessions. `pooled`: declare the backend stateless; every client shares a
    bounded pool of sessions, which declare no roots (see the README for what that gives up); a
    stdio process then serves up to 32 calls at once (of clients that declared neither sampling
    nor elicitation), told apart by their JSON-RPC ids."""
    session_idle_timeout: PositiveDuration = DEFAULT_SESSION_IDLE_TIMEOUT
    """`per_client`: close a client's backend session after this long without a request."""
    max_sessions: int | None = Field(default=None, ge=1, le=1024)
    """Upper bound of each shared pool (default: 1 for stdio, where each session is a process; 64
    otherwise, so 64 calls can be in flight to one backend at once)."""
    max_client_sessions: int | None = Field(default=None, ge=1, le=100_000)
    """`per_client`: backend sessions of clients open at once, all principals together (default:
    16 for stdio, where each is a process; 256 otherwise); past it a new client is refused."""
    max_client_sessions_per_principal: int = Field(default=DEFAULT_MAX_CLIENT_SESSIONS_PER_PRINCIPAL, ge=1)
    """`per_client`: backend sessions one authenticated principal may hold open at once; past it
    the principal's new client sessions are refused (its idle ones close after
    `session_idle_timeout`). Without `auth` every client is the same principal: only
    `max_client_sessions` applies."""

    connect_timeout: PositiveDuration = DEFAULT_CONNECT_TIMEOUT
    """Longest wait to open a backend session (spawn + handshake)."""
    request_timeout: PositiveDuration = DEFAULT_REQUEST_TIMEOUT
    """Longest wait for one try; on expiry the request is cancelled at the backend."""
    deadline: PositiveDuration | None = None
    """Longest wait for a request, all tries and backoff included (default: `request_timeout`)."""
    tool_timeouts: dict[str, PositiveDuration] = {}
    """Tool name glob → its own per-try timeout (and deadline, if shorter)."""
    retry: RetryPolicy = RetryPolicy()
    """When to try again (off for anything that may have run, unless made safe)."""
    idempotent_tools: tuple[Glob, ...] = ()
    """Backend tool names that are safe to run twice (so they may be retried)."""
    trust_annotations: bool = False
    """Count the backend's own readOnlyHint / idempotentHint as safe-to-retry."""
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    """Ejection after repeated failures."""
    max_concurrent: Annotated[int, Field(ge=1)] = 256
    """Requests in flight to this backend at once; more are refused at once, not queued."""
    health: HealthCheck | None = HealthCheck()
    """Active health checks (`null` turns them off)."""
    unavailable_grace: Duration = 30.0
    """How long a backend that went down keeps its tools listed (calls fail fast meanwhile)."""
    optional: bool = False
    """An optional backend that is down does not make the gateway unready."""
    lock: Annotated[LockPolicy, BeforeValidator(yaml_off)] | None = None
    """Compare this backend's definitions with the lockfile (`gateway lock`) on every listing:
    `warn` logs the drift and serves the new definitions; `block` serves only what is locked
    and refuses the rest until re-locked; `off` does not compare. Default: `warn` when the
    lockfile exists, else `off`."""

    tools: ComponentFilter = ComponentFilter()
    """Tool include/exclude/rename."""
    prompts: ComponentFilter = ComponentFilter()
    """Prompt include/exclude/rename."""
    resources: ResourceFilter = ResourceFilter()
    """Resource and template include/exclude by URI."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must be an http:// or https:// URL, got scheme {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("has no host")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; use `headers` with ${VAR} instead")
        if has_query_credentials(parts.query):
            raise ValueError(QUERY_CREDENTIALS_ADVICE)  # never the URL: the value is a secret
        return url

    @model_validator(mode="after")
    def _exactly_one_target(self) -> BackendConfig:
        given = [k for k in ("command", "url", "module", "openapi") if getattr(self, k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"needs exactly one of command, url, module, openapi (found: {found})")
        if self.kind != "stdio" and (self.env or self.cwd):
            raise ValueError("`env` and `cwd` apply only to stdio backends (`command`)")
        if self.kind == "openapi" and (self.headers or self.bearer_token or self.forward_identity):
            raise ValueError("an OpenAPI backend's `headers` and `bearer_token` go under `openapi:`")
        if self.kind not in ("http", "sse") and (self.headers or self.bearer_token or self.forward_identity):
            raise ValueError(
                "`headers`, `bearer_token` and `forward_identity` apply only to HTTP backends (`url`)"
            )
        if self.deadline is not None and self.deadline < self.request_timeout:
            raise ValueError(
                f"request_timeout ({self.request_timeout:g}s) is longer than deadline ({self.deadline:g}s); "
                "a try cannot outlast the whole request"
            )
        if self.openapi is not None and self.openapi.timeout >= self.request_timeout:
            raise ValueError(
                f"openapi.timeout ({self.openapi.timeout:g}s) must be shorter than request_timeout "
                f"({self.request_timeout:g}s), or the gateway gives up before the API request does"
            )
        if self.bearer_token is not None and any(k.lower() == "authorization" for k in self.headers):
            raise ValueError(
                "give the backend's credentials as `bearer_token` or an Authorization header, not both"
            )
        return self

    @property
    def kind(self) -> BackendKind:
        """How the gateway reaches this backend."""
        if self.command is not None:
            return "stdio"
        if self.module is not None:
            return "module"
        if self.openapi is not None:
            return "openapi"
        assert self.url is not None
        return "sse" if urlsplit(self.url).path.rstrip("/").endswith("/sse") else "http"

    @property
    def overall_deadline(self) -> float:
        """The resolved deadline of one request, tries included."""
        return self.deadline if self.deadline is not None else self.request_timeout

    @property
    def pool_size(self) -> int:
        """The resolved upper bound of each shared pool."""
        if self.max_sessions is not None:
            return self.max_sessions
        return DEFAULT_MAX_SESSIONS_STDIO if self.kind == "stdio" else DEFAULT_MAX_SESSIONS_SHARED

    @property
    def client_session_limit(self) -> int:
        """The resolved upper bound of clients' own sessions."""
        if self.max_client_sessions is not None:
            return self.max_client_sessions
        stdio = self.kind == "stdio"
        return DEFAULT_MAX_CLIENT_SESSIONS_STDIO if stdio else DEFAULT_MAX_CLIENT_SESSIONS_SHARED


class GatewaySection(Frozen):
    """Who the gateway says it is."""

    name: str = "mcp-gateway"
    """Server name reported to clients."""
    instructions: str | None = None
    """Instructions for clients; default: a summary of the mounted backends."""
    list_page_size: int | None = Field(default=None, ge=1)
    """Page size of tools/prompts/resources lists (opaque cursors); default: one page."""
    search_above_tokens: int | None = Field(default=None, ge=1)
    """Above this estimated size of a client's `tools/list` (in tokens; `gateway list --budget`
    shows them), it gets `search_tools` and `call_tool` instead of every tool; views may set
    their own. Default: always the full list."""
    drain_timeout: PositiveDuration = 10.0
    """On shutdown, how long calls in flight may take to finish before they are cut off."""
    watch_config: bool = True
    """`gateway run`: reload this file when it changes (SIGHUP reloads it in any case)."""
    watch_interval: PositiveDuration = 2.0
    """How often the file is checked for changes."""
    lockfile: str = Field(default=DEFAULT_LOCKFILE, min_length=1)
    """The tool lockfile that `gateway lock` writes and `gateway check` and each backend's
    `lock` policy compare with; relative to this file."""


class HttpFront(Frozen):
    """The HTTP front door."""

    cors: CorsConfig = CorsConfig()
    """Browser access from other origins (off by default)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host header values accepted besides the bind address, globs allowed (`gateway.*.svc`); a
    port in the Host header is ignored (DNS-rebinding guard stays on)."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins accepted (the Origin header); absent Origin (non-browser) is accepted."""
    metrics: bool = True
    """Serve Prometheus metrics at `/metrics` (no authentication, like the health endpoints:
    keep the port internal, or turn this off)."""
    fast_path: bool = True
    """Serve plain tool calls straight from the HTTP request, without the MCP SDK's server (the
    answers are the same; off: every request takes the full relay)."""
    max_connections: Annotated[int, Field(ge=1)] = 1000
    """Connections and requests in progress at once; past it, requests get 503."""
    header_timeout: PositiveDuration = 10.0
    """Longest time for a request's headers to arrive (slow senders are disconnected)."""
    max_sessions: Annotated[int, Field(ge=1)] = 1000
    """Handshake-era sessions open at once (a new `initialize` past it gets 429)."""
    max_sessions_per_principal: Annotated[int, Field(ge=1)] = 64
    """Handshake-era sessions one authenticated principal may hold open (without `auth`, only
    `max_sessions` applies)."""
    session_idle_timeout: PositiveDuration = 1800.0
    """A handshake-era session unused this long (`30m`) is closed (its client gets 404)."""


class UiConfig(Frozen):
    """The operator console at `/ui` (HTTP front only). With `auth`, its pages need a key and
    anything beyond the key's own view needs the `admin` scope; without `auth`, it answers
    loopback clients only."""

    enabled: bool = True
    """Serve the console (off: `/ui` is not served at all)."""
    refresh: PositiveDuration = 2.0
    """How often the console's pages ask for fresh figures."""
    sample_interval: PositiveDuration = 5.0
    """How often the gateway samples its own metrics for the console's charts."""
    history: PositiveDuration = 600.0
    """How far back the charts go (`10m`): samples older than this are dropped."""
    recent_calls: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """Audit records kept in memory for the live-calls page (the oldest are dropped first)."""


class GatewayConfig(Frozen):
    """The whole of gateway.yaml."""

    gateway: GatewaySection = GatewaySection()
    """Identity of the gateway."""
    http: HttpFront = HttpFront()
    """HTTP front settings."""
    ui: UiConfig = UiConfig()
    """The operator console at `/ui`."""
    auth: AuthConfig | None = None
    """Who may use the HTTP front (absent: anyone who can reach it; bind to 127.0.0.1)."""
    views: dict[Name, ViewConfig] = {}
    """What each group of principals sees. A principal that no view selects sees everything
    (minus `tool_scopes` it lacks), unless `auth.unviewed` is `none`."""
    tool_scopes: dict[str, tuple[str, ...]] = {}
    """Tool name glob → scopes any principal needs to see and call it (views may add more)."""
    rate_limits: RateLimits = RateLimits()
    """How many calls, how fast."""
    limits: Limits = Limits()
    """Size limits on requests and answers."""
    audit: AuditConfig = AuditConfig()
    """Where the per-call audit records go."""
    egress: EgressConfig = EgressConfig()
    """Where backends may be (loopback only unless widened)."""
    backends: dict[Name, BackendConfig] = {}
    """The MCP servers behind the gateway, by key."""
    workflows: dict[Name, Workflow] = {}
    """Tools the gateway serves itself, made of steps that call backend tools (see README)."""

    @model_validator(mode="after")
    def _namespaces_unique(self) -> GatewayConfig:
        seen: dict[str, str] = {}
        for key in self.backends:
            ns = self.namespace_of(key)
            if ns and ns in seen:
                raise ValueError(
                    f"backends '{seen[ns]}' and '{key}' share the namespace {ns!r}; "
                    "give one of them another `namespace`"
                )
            seen[ns] = key
        return self

    @model_validator(mode="after")
    def _egress(self) -> GatewayConfig:
        guard = Egress(self.egress.allow)
        for key, backend in self.backends.items():
            urls = {"url": backend.url}
            if backend.openapi is not None:
                api = backend.openapi
                urls |= {"openapi.spec": api.spec_url, "openapi.base_url": api.base_url}
            for field, url in urls.items():
                host = urlsplit(url).hostname if url else None
                if host is None:
                    continue
                try:
                    guard.check_literal(host)
                except EgressError as error:
                    raise ValueError(f"backends.{key}.{field}: {error}") from None
        return self

    def namespace_of(self, key: str) -> str:
        """The namespace a backend's names are prefixed with."""
        ns = self.backends[key].namespace
        return key if ns is None else ns
