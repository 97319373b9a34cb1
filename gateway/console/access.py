"""Who may use the console, and the headers every console response carries.

With `auth` configured, the console's data needs the same bearer credentials as `/mcp` (sent by
the page's scripts as `Authorization: Bearer`, kept in the tab's `sessionStorage`: never a
cookie, so no request is authenticated by the browser on its own, and never in a URL, so no key
lands in a log). A principal sees its own view; anything beyond it (other backends, other
principals' calls, the configuration, reload) needs the `admin` scope. Without `auth` (the
embedded default, on 127.0.0.1) every console request must come from a loopback address; the
page says the console is open.

Every `/ui` response carries a strict Content-Security-Policy: scripts, styles, images and
connections from this origin only, no inline script or style, no framing. The Host/Origin guard
of the HTTP front (`gateway.front.http`) wraps the whole app, the console included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.config.security import AuthConfig
from gateway.principal import ANONYMOUS, Principal, principal_of_scope

ADMIN_SCOPE = "admin"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: Mapping[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


@dataclass(frozen=True)
class Visitor:
    """Who is using the console, and whether beyond their own view."""

    principal: Principal
    admin: bool


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine's."""
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def refusal(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """An error answer of the console's API (with the console's headers)."""
    return JSONResponse(
        {"error": message}, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )


class ConsoleAccess:
    """Decides who a console request comes from, or answers it with the refusal."""

    def __init__(self, auth: AuthConfig | None) -> None:
        self._auth = auth

    @property
    def open(self) -> bool:
        """No `auth`: loopback clients only, and they see everything."""
        return self._auth is None

    def blocked(self, request: Request) -> JSONResponse | None:
        """The refusal of any `/ui` request from off this machine when the console is open."""
        if self.open and not is_loopback(request.client.host if request.client else None):
            return refusal(403, "without `auth` the console answers loopback clients only")
        return None

    def visitor(self, request: Request) -> Visitor | JSONResponse:
        """The visitor behind an API request, or the refusal (401 without valid credentials)."""
        blocked = self.blocked(request)
        if blocked is not None:
            return blocked
        if self._auth is None:
            return Visitor(ANONYMOUS, admin=True)
        principal = principal_of_scope(request.scope)
        if principal.kind not in ("api_key", "jwt"):
            return refusal(401, "sign in with an API key or token", {"www-authenticate": "Bearer"})
        missing = set(self._auth.required_scopes) - principal.scopes
        if missing:
            return refusal(403, f"the token lacks the required scopes: {', '.join(sorted(missing))}")
        return Visitor(principal, admin=ADMIN_SCOPE in principal.scopes)
