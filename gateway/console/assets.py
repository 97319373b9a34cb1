"""The console's static files: the page, its ES modules, its stylesheet and the vendored charting
library, shipped inside the package (`gateway/console/static/`) and served from memory.

The files are read once, when the console is installed, through `importlib.resources`, so an
installed wheel serves them as a source checkout does. Only files present then are served (no
path from a request ever reaches the file system); each has a strong ETag, and browsers
revalidate (`no-cache`), so an upgraded gateway never serves a stale script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from starlette.requests import Request
from starlette.responses import Response

from gateway.console.access import SECURITY_HEADERS

PACKAGE = "gateway.console"
FOLDER = "static"
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
}


@dataclass(frozen=True)
class Asset:
    """One static file, ready to send."""

    body: bytes
    media_type: str
    etag: str

    def response(self, request: Request) -> Response:
        """The file, or 304 when the browser holds this version."""
        headers = {**SECURITY_HEADERS, "etag": self.etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == self.etag:
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def load_assets() -> dict[str, Asset]:
    """Every servable file under the package's `static/`, by its path relative to it."""
    found: dict[str, Asset] = {}
    _walk(resources.files(PACKAGE) / FOLDER, "", found)
    return found


def _walk(folder: Traversable, prefix: str, found: dict[str, Asset]) -> None:
    for entry in folder.iterdir():
        name = f"{prefix}{entry.name}"
        if entry.is_dir():
            _walk(entry, f"{name}/", found)
            continue
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        media_type = MEDIA_TYPES.get(suffix)
        if media_type is None:
            continue
        body = entry.read_bytes()
        found[name] = Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:20]}"')
