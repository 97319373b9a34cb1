"""What the HTTP front leaves in an ASGI request's scope for the stages after it.

The guard parses a request's body once and keeps the message and its headers here; the
connection keeps a list of callbacks to run if the client goes away mid-request, and the event
loop it is served on. The fast path
(`gateway.relay.fast`) reads them instead of parsing again or watching the connection with a
task of its own.
"""

from __future__ import annotations

MESSAGE_KEY = "gateway.message"
"""The request's JSON-RPC message, parsed once by the guard (`gateway.front.guard`)."""
HEADERS_KEY = "gateway.headers"
"""The request's headers as a dict of lower-case names (the last value of each)."""
ON_DISCONNECT_KEY = "gateway.on_disconnect"
"""A list the request may append callbacks to: run once if its connection is lost before the
response is complete (`gateway.front.connections`); absent where the server offers no hook."""
LOOP_KEY = "gateway.loop"
"""The event loop serving the request's connection (`gateway.front.connections`), so the stages
after it need not look it up (a system call per lookup on Python 3.11); absent elsewhere."""
