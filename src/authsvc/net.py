"""The client's address: `X-Forwarded-For` is believed only from a trusted proxy."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(conn: HTTPConnection, trusted: tuple[str, ...]) -> str:
    """The direct peer, or, when the peer is a trusted proxy, the right-most untrusted hop of
    `X-Forwarded-For` (hops added by our own proxies are skipped; a client-supplied prefix is
    never believed)."""
    peer = conn.client.host if conn.client else "0.0.0.0"  # noqa: S104
    networks = parse_networks(trusted)
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = conn.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


def is_trusted_proxy(address: str, trusted: tuple[str, ...]) -> bool:
    """True when `address` is one of the configured trusted proxies."""
    networks = parse_networks(trusted)
    return bool(networks) and _trusted(address, networks)
