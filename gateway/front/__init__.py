"""The front door: serving MCP over streamable HTTP, SSE and stdio.

Everything a request meets before the MCP layer sees it is here: the HTTP guard (Host/Origin,
sizes, shapes, drain), authentication (API keys, JWTs), and the process endpoints
(`/healthz`, `/readyz`, `/metrics`).
"""
