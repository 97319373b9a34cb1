"""Which protocol eras a backend speaks, and which one serves a given caller.

Toward a backend that speaks both eras, a request goes in the era its client speaks: a
handshake-era client's sampling, elicitation and roots are pushes, which only a handshake-era
backend session can make; a 2026-07-28 client's calls are stateless, which only a 2026 session
is. Only where the backend speaks just one era does the gateway translate (`gateway.dispatch.
translate`). `mode: legacy` or `mode: 2026-07-28` pins one era for every caller.

What a backend speaks is learnt from its sessions: a handshake that the backend refuses for an
era, or a probe it does not answer, says it does not speak that era. The gateway's own sessions
(listings, health) ask for the handshake era first, so what handshake-era clients are told at
`initialize` (subscriptions, completions) is what the backend says in that era.
"""

from __future__ import annotations

import mcp_types

from gateway.config.model import ProtocolMode
from gateway.upstream.caller import Caller
from gateway.upstream.session import BackendSession, Era


class Eras:
    """What one backend is known to speak, and what it said in each era."""

    def __init__(self, mode: ProtocolMode) -> None:
        self._mode = mode
        self.speaks: dict[Era, bool | None] = {"legacy": None, "modern": None}
        """True: it does; False: it refused; None: not known yet."""
        self.capabilities: dict[Era, mcp_types.ServerCapabilities] = {}
        self.instructions: str | None = None
        self.protocol_version: str | None = None
        """The version its latest session negotiated (for reports)."""

    def for_caller(self, caller: Caller) -> Era:
        """The era that serves `caller`: its own, unless the backend is pinned or cannot."""
        if self._mode == "legacy":
            return "legacy"
        if self._mode == "2026-07-28":
            return "modern"
        wanted: Era = "modern" if caller.modern else "legacy"
        other: Era = "legacy" if wanted == "modern" else "modern"
        return other if self.speaks[wanted] is False else wanted

    def learn(self, asked: Era, session: BackendSession) -> None:
        """Record what a newly opened session (asked for `asked`) says about the backend."""
        got = session.era
        self.speaks[got] = True
        if asked != got:
            self.speaks[asked] = False
        capabilities = session.server_capabilities
        if capabilities is not None:
            self.capabilities[got] = capabilities
        self.instructions = session.instructions or self.instructions
        self.protocol_version = session.protocol_version

    def capabilities_for(self, era: Era | None = None) -> mcp_types.ServerCapabilities | None:
        """What the backend said it can do in `era` (None: in the handshake era if known)."""
        if era is not None:
            return self.capabilities.get(era) or self.capabilities.get(_other(era))
        return self.capabilities.get("legacy") or self.capabilities.get("modern")


def _other(era: Era) -> Era:
    return "modern" if era == "legacy" else "legacy"
