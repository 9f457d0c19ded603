"""Where a key may be used from: referer host patterns (browser keys) and IP/CIDR ranges
(server keys). Parsing refuses a bad value with a message naming it; matching is pure."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from layers.errors import InvalidParameter

IpRange = ipaddress.IPv4Network | ipaddress.IPv6Network
HOST_PATTERN = re.compile(
    r"^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"(:[0-9]{1,5})?$"
)
MAX_PATTERNS = 100


def parse_referer_patterns(patterns: Iterable[str]) -> list[str]:
    """Host patterns: ``map.gd.gov.cn``, ``*.gd.gov.cn`` (any subdomain, not the bare
    domain), optionally with ``:port``; lower-cased. Schemes and paths are not part of it."""
    parsed = []
    for raw in patterns:
        pattern = raw.strip().lower()
        if not HOST_PATTERN.fullmatch(pattern):
            raise InvalidParameter(
                f"referer pattern {raw[:80]!r} is not a host pattern such as 'map.gd.gov.cn' "
                "or '*.gd.gov.cn' (no scheme, no path)"
            )
        parsed.append(pattern)
    if len(parsed) > MAX_PATTERNS:
        raise InvalidParameter(f"at most {MAX_PATTERNS} referer patterns per key")
    return sorted(set(parsed))


def parse_ip_ranges(values: Iterable[str]) -> list[IpRange]:
    """Addresses or CIDR ranges (``10.1.0.0/16``, ``2001:db8::/32``, ``192.0.2.7``)."""
    ranges = []
    for raw in values:
        try:
            ranges.append(ipaddress.ip_network(raw.strip(), strict=True))
        except ValueError as exc:
            raise InvalidParameter(
                f"{raw[:80]!r} is not an IP address or CIDR range ({exc}); "
                "e.g. 10.1.0.0/16 or 192.0.2.7"
            ) from None
    if len(ranges) > MAX_PATTERNS:
        raise InvalidParameter(f"at most {MAX_PATTERNS} IP ranges per key")
    return sorted(set(ranges), key=str)


def referer_host(referer: str | None) -> str | None:
    """The ``host[:port]`` of a Referer URL or an Origin, lower-cased; None if it has none."""
    if not referer or referer == "null":
        return None
    try:
        parts = urlsplit(referer.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:  # a malformed port or IPv6 literal: no usable host
        return None
    if not host:
        return None
    return f"{host}:{port}" if port is not None else host


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` (``name`` or ``name:port``) matches one of the patterns. A pattern
    without a port matches any port; ``*.example.cn`` matches subdomains only."""
    name, _, port = host.partition(":")
    for pattern in patterns:
        want, _, want_port = pattern.partition(":")
        if want_port and want_port != port:
            continue
        if want.startswith("*."):
            if name.endswith(want[1:]) and len(name) > len(want) - 1:
                return True
        elif name == want:
            return True
    return False


def address_allowed(client_ip: str | None, ranges: Iterable[IpRange]) -> bool:
    """Whether ``client_ip`` lies in one of the ranges (an IPv4-mapped IPv6 counts as IPv4)."""
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == r.version and address in r for r in ranges)
