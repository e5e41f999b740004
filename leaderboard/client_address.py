"""The client's address for throttles: ``REMOTE_ADDR``, or, when the request came through a
proxy listed in ``ELUE_TRUSTED_PROXIES``, the right-most ``X-Forwarded-For`` hop that is not
one of those proxies.

Anyone can send ``X-Forwarded-For``; only a proxy we run appends to it truthfully. Trusting
the header from anywhere (DRF's default without ``NUM_PROXIES``) lets a client pose as a
new address on every request and never be throttled.

    >>> client_address({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 5.6.7.8"})
    '5.6.7.8'   # with ELUE_TRUSTED_PROXIES=10.0.0.0/8
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """``ELUE_TRUSTED_PROXIES`` entries (addresses or CIDR blocks) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted_networks(tuple(
        settings.ELUE_TRUSTED_PROXIES)))


def client_address(meta: Mapping[str, str]) -> str:
    """The address the throttles count for the request whose WSGI environ is ``meta``."""
    remote = meta.get("REMOTE_ADDR", "")
    if not is_trusted(remote):
        return remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not is_trusted(hop):
            return hop
    return remote
