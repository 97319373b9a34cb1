"""Where the gateway may connect: backend addresses checked against an allowlist (SSRF guard).

Backend URLs come only from the configuration, but a configuration can still point the gateway
at a cloud metadata service or an internal network by mistake, or by a hostname that resolves
there. So every backend host must be allowed by `egress.allow` (CIDR ranges and host names;
the default allows loopback only):

- literal addresses are parsed the way the network stack parses them, so `2130706433`,
  `0177.0.0.1` and `[::ffff:127.0.0.1]` are all 127.0.0.1;
- link-local addresses (169.254.0.0/16, fe80::/10, where metadata services live) and known
  metadata host names are refused unless listed literally;
- a host name is resolved when its backend starts, and every address it resolves to must be
  allowed (or the name itself listed);
- and again each time a connection opens (`resolve`): the name is resolved once, checked, and
  the connection goes to the address that was checked, so a name that answers differently the
  second time (DNS rebinding) cannot lead anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import anyio

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128", "localhost")
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})


class EgressError(ValueError):
    """The address is not allowed; the message says what it is and how to allow it."""


def parse_address(host: str) -> IPAddress | None:
    """The address a literal host denotes (any notation), or None for a name."""
    candidate = host.strip("[]")
    try:
        address: IPAddress = ipaddress.ip_address(candidate)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(candidate))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Egress:
    """The allowlist."""

    def __init__(self, allow: Sequence[str] = DEFAULT_ALLOW) -> None:
        self._names = {a.lower() for a in allow if not _is_network(a)}
        self._networks = [ipaddress.ip_network(a, strict=False) for a in allow if _is_network(a)]

    def check_literal(self, host: str) -> None:
        """Refuse a host that is a disallowed address or a metadata name (no DNS involved)."""
        name = host.lower().strip("[]")
        if name in self._names:
            return
        if name in METADATA_NAMES:
            raise EgressError(f"{host} is a cloud metadata service; list it in egress.allow to reach it")
        address = parse_address(host)
        if address is not None:
            self.check_address(host, address)

    def check_address(self, host: str, address: IPAddress) -> None:
        """Refuse an address outside the allowlist."""
        if any(address in network for network in self._networks):
            return
        kind = "a link-local (metadata) address" if address.is_link_local else "not in egress.allow"
        raise EgressError(f"{host} is {address}, {kind}; add a range such as {address}/32 to egress.allow")

    async def check_host(self, host: str, port: int) -> None:
        """Check a backend host, resolving a name: every address it has must be allowed (a name
        listed in the allowlist is allowed as it is, wherever it resolves)."""
        if host.lower() in self._names:
            return
        await self.resolve(host, port)

    async def resolve(self, host: str, port: int) -> str:
        """The address to connect to for `host`, checked: a literal as the network stack reads
        it; a name resolved once, every address it has allowed (or the name listed), the first."""
        self.check_literal(host)
        literal = parse_address(host)
        if literal is not None:
            return str(literal)
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise EgressError(f"{host} does not resolve ({error.strerror or error})") from None
        addresses = [a for a in (parse_address(str(info[4][0])) for info in infos) if a is not None]
        if not addresses:
            raise EgressError(f"{host} does not resolve to an address")
        if host.lower() not in self._names:
            for address in addresses:
                self.check_address(host, address)
        return str(addresses[0])


def _is_network(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True
