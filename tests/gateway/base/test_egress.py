"""The egress allowlist (RELIABILITY.md §5 item 29): backends only where the operator allows."""

from __future__ import annotations

import pytest

from gateway.config import parse_config
from gateway.egress import Egress, EgressError
from gateway.errors import ConfigError

HOSTILE = [
    "169.254.169.254",
    "10.0.0.1",
    "[::ffff:10.0.0.1]",
    "167772161",  # 10.0.0.1 as one integer
    "012.0.0.1",  # 10.0.0.1 in octal
    "[fd00::1]",
    "metadata.google.internal",
]


@pytest.mark.parametrize("host", HOSTILE)
def test_disallowed_addresses_in_any_notation_are_refused_at_load(host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(f"backends:\n  x:\n    url: http://{host}/mcp\n", environ={})
    assert (
        refused.value.problems[0].startswith("(top level): backends.x.url:")
        or "backends.x.url" in refused.value.problems[0]
    )


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "localhost"]
)
def test_loopback_is_allowed_by_default_in_any_notation(host: str) -> None:
    Egress().check_literal(host)


def test_a_network_can_be_allowed_explicitly() -> None:
    config = parse_config(
        "egress:\n  allow: ['10.0.0.0/8']\nbackends:\n  x:\n    url: http://10.1.2.3:8000/mcp\n", environ={}
    )
    assert config.backends["x"].url == "http://10.1.2.3:8000/mcp"


def test_link_local_needs_a_literal_entry() -> None:
    with pytest.raises(EgressError, match="link-local"):
        Egress(("127.0.0.0/8",)).check_literal("169.254.169.254")
    Egress(("169.254.169.254/32",)).check_literal("169.254.169.254")


@pytest.mark.asyncio
async def test_a_name_is_checked_by_what_it_resolves_to() -> None:
    await Egress().check_host("localhost", 80)
    with pytest.raises(EgressError, match="does not resolve"):
        await Egress(("0.0.0.0/0", "::/0")).check_host("no-such-host.invalid", 80)
