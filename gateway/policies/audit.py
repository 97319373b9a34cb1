"""The audit trail: one JSON line per call (OWASP MCP08).

Every `tools/call`, `prompts/get`, `resources/read` and `completion/complete` leaves one record,
whatever becomes of it, and so does every workflow run (`method: workflow`, with its steps'
outcomes). Each record: `time` (UTC, ISO 8601), `principal`, `kind` (how it authenticated),
`method`, `tool` (the name or URI as the client gave it), `backend`, `backend_tool`,
`args_sha256` (a digest of the canonical JSON of the arguments, never the arguments
themselves), `outcome` (`ok`, `tool_error`, `error`, `rate_limited`, `rejected`, or `denied`: a
name the caller cannot use, outside its view or nonexistent alike, with no backend), `error` (the
gateway's own message, if any), `latency_ms`, `attempts` (tries made, retries included), and
`request_id`. Tokens, keys and argument values never appear. The sink is `stderr`, `stdout`, a
file (appended), or `off`. The latest records are also kept in memory for the operator console
(`gateway.policies.recent`): always while the sink is on, and only while the console is watched
when it is off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from gateway.policies.recent import RecentCalls


def args_digest(arguments: Mapping[str, Any] | None) -> str:
    """SHA-256 of the arguments' canonical JSON: the same call, the same digest."""
    canonical = json.dumps(arguments or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class AuditLog:
    """Writes audit records as JSON lines."""

    def __init__(self, sink: str, *, base_dir: Path | None = None, recent: RecentCalls | None = None) -> None:
        self._lock = threading.Lock()
        self._recent = recent
        self._stream: IO[str] | None
        self._owned = False
        self.sink = sink
        if sink == "off":
            self._stream = None
        elif sink == "stderr":
            self._stream = sys.stderr
        elif sink == "stdout":
            self._stream = sys.stdout
        else:
            path = Path(sink)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            path.parent.mkdir(parents=True, exist_ok=True)
            self._stream = path.open("a", encoding="utf-8", buffering=1)
            self._owned = True
        self.records = 0

    @property
    def enabled(self) -> bool:
        """Whether records are written anywhere (the sink, or a console watching)."""
        recent = self._recent
        return self._stream is not None or (recent is not None and recent.watched)

    def write(self, **record: Any) -> None:
        """Append one record (a `time` field is added)."""
        stream, recent = self._stream, self._recent
        if stream is None and (recent is None or not recent.watched):
            return
        entry = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), **record}
        if recent is not None:
            recent.add(entry)
        if stream is None:
            return
        line = json.dumps(entry, separators=(",", ":"), default=str)
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
            self.records += 1

    def close(self) -> None:
        """Close a file sink."""
        if self._owned and self._stream is not None:
            self._stream.close()
        self._stream = None
