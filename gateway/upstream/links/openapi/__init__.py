"""REST APIs as backends: an OpenAPI document becomes an in-process MCP server.

    backends:
      petstore:
        openapi: {spec: ./petstore.json, bearer_token: "${PETSTORE_TOKEN}", include: ["getPet*"]}

`OpenApiLink` reads the document (a file beside gateway.yaml, or a URL), keeps the operations
`include`/`exclude` select, and builds a FastMCP server from them with fastmcp's
`OpenAPIProvider`: one tool per operation, named by its operationId, its input schema from the
parameters and request body, its output schema from the success response. The gateway talks
to that server over in-memory sessions, like a `module` backend, so namespacing, views, rate
limits, retries, audit and metrics apply unchanged.

The API is reached through one `httpx2.AsyncClient` per backend: the base URL (or the
document's `servers[0]`), the configured headers (secret), a finite timeout, no redirects, no
proxy variables, and nothing but the base URL's origin and Host (`SameOrigin`; the host is also
checked against `egress.allow`, per session like other network backends). Callers' headers are
never forwarded, and no tool argument sets a header the gateway owns (credentials, Host, framing,
`X-Request-Id`, `X-Gateway-*`, the configured headers: headers.py). A failed request is a tool
error that says what happened (`GET /items/{item_id}: the API answered HTTP 404 Not Found: ...`),
with secret values redacted, in any case and any echo of 8 or more of their characters.

A document that cannot be read or is not OpenAPI 3 stops the gateway at startup with the YAML
path (`backends.petstore.openapi.spec: file not found (...)`). A document URL that does not
answer at startup is only logged: each new session tries again, like an unreachable backend.
"""

from gateway.upstream.links.openapi.headers import GatewayHeaders, OwnedHeaders
from gateway.upstream.links.openapi.link import OpenApiLink
from gateway.upstream.links.openapi.redaction import Redactor
from gateway.upstream.links.openapi.server import (
    ApiErrors,
    RefusedRequest,
    SameOrigin,
    build_server,
    origin_of,
    secret_values,
)

__all__ = [
    "ApiErrors",
    "GatewayHeaders",
    "OpenApiLink",
    "OwnedHeaders",
    "Redactor",
    "RefusedRequest",
    "SameOrigin",
    "build_server",
    "origin_of",
    "secret_values",
]
