"""Where notifications may be sent: the SSRF rule for webhook URLs.

A URL is ``http``/``https`` without credentials, and every address its host resolves to
must lie in the allowed networks (default: loopback and private ranges) and never be a
link-local, cloud-metadata, multicast or unspecified address — those are refused whatever
the settings say (169.254.169.254 and 100.100.100.200, Alibaba Cloud's, answer with
credentials). The rule is checked when a subscription is made and again before each
attempt, and the attempt connects to the address checked (``Target.pinned_url``), so a name
that changes its answer in between (DNS rebinding) cannot redirect it. Redirects are never
followed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import SplitResult, urlsplit

from layers.errors import InvalidParameter
from layers.webhooks.settings import Network

Address = IPv4Address | IPv6Address
NEVER = tuple(
    ip_network(n)
    for n in (
        "169.254.0.0/16",  # link-local: every cloud's metadata service lives here
        "fe80::/10",
        "100.100.100.200/32",  # Alibaba Cloud's metadata service
        "fd00:ec2::254/128",  # AWS's, over IPv6
        "0.0.0.0/8",
        "::/128",
        "224.0.0.0/4",
        "ff00::/8",
        "255.255.255.255/32",
    )
)
MAX_URL = 2000


class TargetRefused(InvalidParameter):
    """A webhook URL OneMap will not send to (a 400 when a subscription names it)."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the address an attempt connects to."""

    url: str
    host: str
    address: Address

    @property
    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (the Host header and TLS
        name stay the URL's host)."""
        parts = urlsplit(self.url)
        shown = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = shown if parts.port is None else f"{shown}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        port = urlsplit(self.url).port
        return self.host if port is None else f"{self.host}:{port}"


def check_shape(url: str) -> SplitResult:
    """The URL's parts if it may name a webhook at all (before any lookup)."""
    if len(url) > MAX_URL:
        raise TargetRefused(f"a webhook URL may have {MAX_URL} characters at most")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises on a bad port
    except ValueError:
        raise TargetRefused("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("a webhook URL is http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            "a webhook URL may not carry credentials; receivers verify the signature"
        )
    if parts.fragment:
        raise TargetRefused("a webhook URL has no #fragment")
    return parts


async def resolve_target(url: str, allowed: Sequence[Network]) -> Target:
    """The URL checked, resolved and pinned to its first address; ``TargetRefused`` when
    any address the host resolves to is not allowed."""
    parts = check_shape(url)
    host = parts.hostname or ""
    addresses = await _addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        _check_address(host, address, allowed)
    return Target(url, host, addresses[0])


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"the webhook host {host[:100]!r} does not resolve") from None
    found = [ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not found:
        raise TargetRefused(f"the webhook host {host[:100]!r} does not resolve")
    return list(dict.fromkeys(found))


def _check_address(host: str, address: Address, allowed: Sequence[Network]) -> None:
    plain = address.ipv4_mapped if isinstance(address, IPv6Address) else None
    candidate: Address = plain or address
    if any(candidate in network for network in NEVER):
        raise TargetRefused(
            f"webhook host {host[:100]!r} resolves to {candidate}, a link-local or metadata "
            "address; notifications are never sent there"
        )
    if not any(candidate in network for network in allowed):
        raise TargetRefused(
            f"webhook host {host[:100]!r} resolves to {candidate}, outside the networks "
            "notifications may go to (ONEMAP_WEBHOOK_ALLOWED_NETWORKS)"
        )
