"""Logging setup: one line per record on stderr (stdout may be the MCP channel), as text or
as JSON lines (`--log-format json`, `GATEWAY_LOG_FORMAT=json`), each with the request id of
the request it belongs to.

One handler, on the root logger, prints everything: the libraries' loggers lose the handlers
they installed for themselves (FastMCP's rich handler, which also stopped its records from
propagating) and FastMCP may not install them again, so with JSON every line on stderr is JSON
and every library follows `--log-level`. Warnings go through it too.

MCP session ids are kept out of the logs: the SDK's loggers that name a session on every
session opened or closed (`SESSION_LOGGERS`) print only warnings and errors, and the handler
replaces anything shaped like a session id in the MCP libraries' lines with `<session id>`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from typing import Literal

from gateway.observability import requestid

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
NOISY = ("httpx2", "httpcore2", "mcp.client.streamable_http")
SESSION_LOGGERS = ("mcp.server.streamable_http_manager", "mcp.server.streamable_http", "mcp.server.sse")
"""Loggers that name a session id at INFO or DEBUG (`Created new transport with session ID: ...`)."""
REDACTED_LIBRARIES = ("mcp.", "fastmcp.")
"""Loggers whose lines have session ids redacted."""
SESSION_ID = re.compile(
    r"\b[0-9a-fA-F]{32}\b|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
"""What the SDK's session ids look like (`uuid4().hex`), and UUIDs spelled out."""


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = requestid.current.get() or "-"
        return True


class SessionIdFilter(logging.Filter):
    """Replaces session ids in the MCP libraries' records with `<session id>`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(REDACTED_LIBRARIES):
            message = record.getMessage()
            redacted = SESSION_ID.sub("<session id>", message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "exception"?}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: LogFormat = "text") -> None:
    """Install the gateway's handler on the root logger, and make it the only one."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SessionIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # FastMCP installs handlers of its own when it is imported and when it serves stdio, unless
    # told not to; it may be imported after this (a one-off `gateway call` imports it later)
    os.environ["FASTMCP_LOG_ENABLED"] = "false"
    fastmcp = sys.modules.get("fastmcp")
    if fastmcp is not None:
        fastmcp.settings.log_enabled = False
    _route_libraries_to_root()
    logging.captureWarnings(True)
    for quiet in (*NOISY, *SESSION_LOGGERS):
        logging.getLogger(quiet).setLevel(max(logging.WARNING, root.level))


def _route_libraries_to_root() -> None:
    """Take their own handlers from every logger there is, and let their records propagate; one
    that had handlers of its own (its library configured it to print) takes the root's level."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue  # a placeholder: no logger of that name exists yet
        if logger.handlers:
            for existing in list(logger.handlers):
                logger.removeHandler(existing)
            logger.setLevel(logging.NOTSET)
        logger.propagate = True
