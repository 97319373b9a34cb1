"""An ASGI app served on a real socket (127.0.0.1, a free port) for as long as a test needs it:
for what only a real connection shows (the gateway's raw hop to HTTP backends, slow clients)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn

from tests.conftest import free_port


@asynccontextmanager
async def serving(app: Any, **options: Any) -> AsyncIterator[str]:
    """Serve `app` under uvicorn; yields its base URL (`http://127.0.0.1:<port>`)."""
    port = free_port()
    config = uvicorn.Config(
        app, **{"host": "127.0.0.1", "port": port, "log_config": None, "lifespan": "on", **options}
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn says when it listens
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
