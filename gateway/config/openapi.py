"""Configuration of a REST API served as tools, from its OpenAPI document (`backends.X.openapi`).

    backends:
      petstore:
        openapi:
          spec: ./petstore.json                  # or https://api.example.com/openapi.json
          base_url: https://api.example.com/v1   # default: the document's servers[0].url
          bearer_token: ${PETSTORE_TOKEN}         # or headers: {X-API-Key: "${KEY}"}
          include: [listPets, "getPet*", "GET /stores/*"]
          exclude: ["DELETE *"]
          timeout: 10s

Operations are chosen by operationId glob (`getPet*`) or by method and path glob
(`GET /pets/*`, `* /admin/*`), against the paths as the document writes them (`/pets/{petId}`).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from gateway.config.model_base import Frozen
from gateway.config.types import PositiveDuration

DEFAULT_API_TIMEOUT = 30.0
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")
_OPERATION = re.compile(r"^(?:(?P<method>[A-Za-z]+|\*)\s+(?P<path>/\S*|\*)|(?P<operation_id>\S+))$")
_HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"

QUERY_CREDENTIALS = frozenset(
    {"access_token", "token", "api_key", "apikey", "key", "bearer", "authorization"}  # the front's own
    | {"password", "secret", "sig", "signature", "client_secret"}
)
"""Query parameters that carry credentials: those the HTTP front refuses in a client's URL
(`gateway.front.guard.URL_CREDENTIALS`) and more, compared case-insensitively, `-` as `_`, with
`;` separating parameters too. A backend's or API's URL with one is refused: URLs are printed
(`gateway check`, logs), credentials must not be."""
QUERY_CREDENTIALS_ADVICE = "must not carry credentials in its query string; use `headers` with ${VAR} instead"

OperationPattern = Annotated[str, Field(min_length=1)]
"""`operationIdGlob`, or `METHOD /path/glob` (`*` for any method)."""


def split_operation_pattern(pattern: str) -> tuple[str | None, str]:
    """`"GET /pets/*"` → `("GET", "/pets/*")`; `"getPet*"` → `(None, "getPet*")` (an operationId glob)."""
    match = _OPERATION.match(pattern.strip())
    if match is None:
        raise ValueError(f"{pattern!r} is neither an operationId glob nor `METHOD /path`")
    if match["operation_id"] is not None:
        return None, match["operation_id"]
    method = match["method"].upper()
    if method != "*" and method not in HTTP_METHODS:
        raise ValueError(f"{pattern!r}: {match['method']!r} is not an HTTP method (or `*`)")
    return method, match["path"]


def check_http_url(url: str, *, what: str) -> str:
    """An http(s) URL with a host and no credentials in it (the message never repeats it)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # a port that is not a number raises here
    except ValueError:
        raise ValueError(f"{what} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{what} must be an http:// or https:// URL, got scheme {parts.scheme!r}")
    if not parts.hostname or port == 0:
        raise ValueError(f"{what} has no host")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry credentials; use `headers` or `bearer_token` with ${{VAR}}")
    if has_query_credentials(parts.query):
        raise ValueError(f"{what} {QUERY_CREDENTIALS_ADVICE}")
    return url


def has_query_credentials(query: str) -> bool:
    """Whether a URL's query string has a parameter named in `QUERY_CREDENTIALS`."""
    pairs = parse_qsl(query.replace(";", "&"), keep_blank_values=True)  # some servers split on `;`
    names = (name.lower().replace("-", "_") for name, _ in pairs)
    return any(name in QUERY_CREDENTIALS for name in names)


def is_url(spec: str) -> bool:
    """Whether `spec` names a URL (anything with a scheme) rather than a file path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", spec) is not None


class OpenApiConfig(Frozen):
    """A REST API served as tools: one tool per operation of its OpenAPI 3 document, named by
    its operationId, its input schema from the parameters and request body, its output schema
    from the success response. The API sees the gateway's own credentials, never a caller's."""

    spec: Annotated[str, Field(min_length=1)]
    """The OpenAPI 3.0/3.1 document (JSON or YAML): an http(s) URL, or a file path relative to
    the directory of gateway.yaml."""
    base_url: str | None = None
    """Where the API is (operation paths are appended to it); default: the document's
    `servers[0].url` (a relative one is resolved against `spec`'s URL)."""
    headers: dict[Annotated[str, Field(pattern=_HEADER_NAME)], SecretStr] = {}
    """Sent with every API request, e.g. `X-API-Key: ${API_KEY}` (kept secret: never logged,
    redacted from error messages)."""
    bearer_token: SecretStr | None = None
    """Sent as `Authorization: Bearer <token>` with every API request (use `${VAR}`)."""
    include: tuple[OperationPattern, ...] = ()
    """Operations to serve: operationId globs (`getPet*`) or `METHOD /path` globs
    (`GET /pets/*`, `* /pets`); empty means all."""
    exclude: tuple[OperationPattern, ...] = ()
    """Operations to leave out, in the same forms; applied after `include`."""
    timeout: PositiveDuration = DEFAULT_API_TIMEOUT
    """Longest wait for each phase of one API request (connect, send, each read); a timed-out
    request is a tool error. Must be shorter than the backend's `request_timeout`."""
    validate_output: bool = True
    """Give tools the output schemas of the document's success responses (clients check answers
    against them); `false` for an API whose answers do not match its document."""

    @field_validator("spec")
    @classmethod
    def _spec(cls, spec: str) -> str:
        return check_http_url(spec, what="the spec URL") if is_url(spec) else spec

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        check_http_url(url, what="base_url")
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            raise ValueError("base_url must not have a query or fragment")
        return url

    @field_validator("include", "exclude")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            split_operation_pattern(pattern)
        return patterns

    @model_validator(mode="after")
    def _one_authorization(self) -> OpenApiConfig:
        if self.bearer_token is not None and any(k.lower() == "authorization" for k in self.headers):
            raise ValueError(
                "give the API's credentials as `bearer_token` or an Authorization header, not both"
            )
        return self

    @property
    def spec_url(self) -> str | None:
        """The document's URL, if it is fetched rather than read from a file."""
        return self.spec if is_url(self.spec) else None

    def secret_headers(self) -> dict[str, str]:
        """The headers every API request carries (secret values revealed: for the HTTP client only)."""
        headers = {k: v.get_secret_value() for k, v in self.headers.items()}
        if self.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.bearer_token.get_secret_value()}"
        return headers
