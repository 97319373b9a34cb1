"""Names as clients see them: namespace prefixes, the 64-character budget, URIs.

Tool and prompt names become `<namespace>_<name>`. Clients (and several model APIs) accept at
most 64 characters from the alphabet `A-Z a-z 0-9 _ - .`, so:

- a character outside that alphabet becomes `_`;
- a name longer than 64 characters keeps its first 57 characters and ends with `_` and the
  first 6 hex digits of the SHA-256 of the full, unshortened name. The shortening is stable
  (same input, same output, across restarts and replicas) and two long names that share a
  beginning still get different names. `gateway list` shows the backend name beside it.

Resource URIs get the namespace the way FastMCP's `Namespace` transform does it:
`scheme://rest` becomes `scheme://<namespace>/rest`; a URI without `://` is left as it is.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME_LENGTH = 64
SEARCH_TOOL = "search_tools"
CALL_TOOL = "call_tool"
"""The gateway's own tools in search mode (`gateway.relay.toolsearch`): they reach every backend."""
_HASH_DIGITS = 6
_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
_URI = re.compile(r"^([^:/?#]+://)(.*)$", re.DOTALL)


def front_name(namespace: str, name: str) -> str:
    """The name a client sees for a backend tool or prompt (after any rename)."""
    full = f"{namespace}_{name}" if namespace else name
    clean = _INVALID.sub("_", full)
    if len(clean) <= MAX_NAME_LENGTH:
        return clean
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_DIGITS]
    return f"{clean[: MAX_NAME_LENGTH - _HASH_DIGITS - 1]}_{digest}"


def front_uri(namespace: str, uri: str) -> str:
    """`scheme://rest` → `scheme://<namespace>/rest` (also for URI templates)."""
    if not namespace:
        return uri
    match = _URI.match(uri)
    if match is None:
        return uri
    scheme, rest = match.groups()
    return f"{scheme}{namespace}/{rest}"


def split_front_uri(uri: str) -> tuple[str, str] | None:
    """`scheme://ns/rest` → (`ns`, `scheme://rest`); None when the URI has no namespace part."""
    match = _URI.match(uri)
    if match is None:
        return None
    scheme, rest = match.groups()
    namespace, slash, tail = rest.partition("/")
    if not slash or not namespace:
        return None
    return namespace, f"{scheme}{tail}"
