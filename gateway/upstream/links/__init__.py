"""How the gateway reaches a backend: streamable HTTP, SSE, a stdio child, an in-process
module, or a REST API described by OpenAPI (`factory.make_link` picks one)."""
