"""Backends: small, real MCP servers, each deployable alone (`python -m backends.NAME`).

Every backend package has a `server.py` exposing `create_server() -> FastMCP` and a module-level
`mcp` built from it (the gateway's in-process `module:` form mounts that attribute), and a
`__main__.py` that hands the server to `backends._serve.main`.
"""
