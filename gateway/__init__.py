"""An MCP orchestration gateway: one endpoint in front of many MCP servers.

See `gateway.app.Gateway` for how the pieces fit: `config` (gateway.yaml), `links` and
`session`/`pool` (reaching backends), `catalog` and `routes` (what they offer, under which
names), `relay` (answering clients), `front` (HTTP/SSE/stdio), `cli`.
"""
