"""The client's address, believing ``X-Forwarded-For`` only from trusted proxies.

Behind a reverse proxy every request comes from the proxy's address, and the proxy says
whose it is in ``X-Forwarded-For``. Anyone can send that header, so it is read only when
the peer is one of ``POINTILLIST_TRUSTED_PROXIES``, and then from the right: the first
address that is not a trusted proxy is the client (entries left of it may be forged).
The sign-in throttle and the consent's ``signer_ip`` both use this address. The scheme
(``X-Forwarded-Proto``: did the client come over HTTPS?) is believed the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from fastapi import Request

from pointillist.errors import PointillistError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks from addresses or CIDR blocks (``10.0.0.5``, ``10.0.0.0/8``, ``::1``)."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise PointillistError(
                f"POINTILLIST_TRUSTED_PROXIES: {entry!r} is not an address or network; "
                "write e.g. 127.0.0.1 or 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(request: Request) -> str | None:
    """The address the request came from: the peer, or the client a trusted proxy names."""
    peer = request.client.host if request.client else None
    proxies: tuple[Network, ...] = request.app.state.trusted_proxies
    if peer is None or not _trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                # Garbage where an address should be: the proxy passed on a forgery.
                return peer
    return peer


def client_scheme(request: Request) -> str:
    """``https`` or ``http``: how the client reached us, as a trusted proxy says (the
    nearest hop's ``X-Forwarded-Proto``), else how the request itself came."""
    peer = request.client.host if request.client else None
    proxies: tuple[Network, ...] = request.app.state.trusted_proxies
    forwarded = request.headers.get("x-forwarded-proto")
    if peer is None or forwarded is None or not _trusted(peer, proxies):
        return request.url.scheme
    # A chain of proxies appends: the last entry is the one the nearest proxy saw.
    nearest = forwarded.split(",")[-1].strip().lower()
    return nearest if nearest in ("http", "https") else request.url.scheme
