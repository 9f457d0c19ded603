"""How change notifications are delivered (``ONEMAP_WEBHOOK_*``)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = IPv4Network | IPv6Network
# Loopback and the private ranges: OneMap's subscribers are departments' systems on the
# government intranet. Public addresses must be allowed by name (a 政务云 range, say).
INTRANET = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def _networks(value: object) -> object:
    if isinstance(value, str):
        return [ip_network(part.strip()) for part in value.split(",") if part.strip()]
    return value


class WebhookSettings(BaseSettings):
    """Delivery of change notifications; every server process takes part, one delivers."""

    model_config = SettingsConfigDict(env_prefix="ONEMAP_WEBHOOK_", extra="ignore")

    enabled: bool = Field(default=True, description="Deliver notifications from this server.")
    source: str = Field(
        default="urn:onemap", max_length=500, description="The CloudEvents `source` attribute."
    )
    allowed_networks: Annotated[list[Network], NoDecode, BeforeValidator(_networks)] = Field(
        default_factory=lambda: [ip_network(n) for n in INTRANET],
        description="Networks a webhook URL may resolve to (CIDR, comma-separated); "
        "link-local and cloud metadata addresses are refused whatever this says.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Per attempt.")
    retry_base_seconds: float = Field(
        default=10.0, gt=0, description="Wait after the first failed attempt; doubled after each."
    )
    retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest wait.")
    max_attempts: int = Field(default=20, ge=1, le=100, description="Then the delivery is dead.")
    poll_seconds: float = Field(
        default=5.0, gt=0, le=300, description="Longest idle wait; how often a standby retries."
    )
    concurrency: int = Field(default=4, ge=1, le=64, description="Receivers sent to at once.")
    retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Delivered notifications (and events nobody waits for) older than this "
        "are removed from the outbox, hourly; 0 keeps them forever. Pending and dead "
        "deliveries are always kept.",
    )

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones (exponential, capped)."""
        return float(min(self.retry_base_seconds * 2 ** (attempts - 1), self.retry_max_seconds))
