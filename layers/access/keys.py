"""API keys (Tianditu-style ``tk=``): created, listed, revoked, looked up, and checked.

A key is bound to a department, a type (``browser``: bound by Referer/Origin host
patterns; ``server``: by client IP/CIDR ranges; an empty binding allows any), the roles
and areas it grants, an expiry and per-service daily quotas. Its secret (``om_`` + 32
random bytes) is shown once at creation; only its SHA-256 is stored. Every change is
written to the audit log in the same transaction, and the table's trigger tells every
process to drop its cached copy (``onemap_keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, cast

import psycopg
from psycopg.rows import dict_row

from layers.access import bindings
from layers.access.audit import AuditEvent, write_event
from layers.access.caller import Caller, Role
from layers.access.days import seconds_until_next_day, utc_now
from layers.access.sqlfiles import access_sql
from layers.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidParameter,
    NotFound,
    QuotaExceeded,
)

Service = Literal["tiles", "features", "processes"]
KeyType = Literal["browser", "server"]
SERVICES: tuple[Service, ...] = ("tiles", "features", "processes")
KEY_TYPES: tuple[KeyType, ...] = ("browser", "server")
ROLES: tuple[Role, ...] = ("government", "member", "publisher", "admin")
BROWSER_ROLES = frozenset({"government", "member"})  # a browser key's secret is in web pages
SECRET_PREFIX = "om_"
AREA = re.compile(r"^[0-9]{2,6}$")


def secret_hash(secret: str) -> bytes:
    """SHA-256 of a secret: keys are long random tokens, so no slow password hash is needed."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KeySpec:
    """What an admin asks for when creating a key; ``params()`` checks every value."""

    department_id: str
    name: str
    type: str = "server"
    referers: tuple[str, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    quotas: Mapping[str, int | None] = field(default_factory=dict)
    expires_at: datetime | None = None
    rate_limit: int | None = None  # requests per rate window; None: the service's default

    def params(self, now: datetime) -> dict[str, Any]:
        name = self.name.strip()
        if not 1 <= len(name) <= 200 or not name.isprintable():
            raise InvalidParameter("a key's name must be 1–200 printable characters")
        if self.type not in KEY_TYPES:
            raise InvalidParameter(f"key type must be browser or server, got {self.type[:40]!r}")
        referers = bindings.parse_referer_patterns(self.referers)
        ranges = bindings.parse_ip_ranges(self.ip_ranges)
        if self.type == "browser" and ranges:
            raise InvalidParameter("browser keys are bound by referer; IP ranges bind server keys")
        if self.type == "server" and referers:
            raise InvalidParameter("server keys are bound by IP ranges; referers bind browser keys")
        return {
            "department_id": self.department_id,
            "name": name,
            "type": self.type,
            "referers": referers,
            "ip_ranges": ranges,
            "roles": self._roles(),
            "areas": self._areas(),
            "expires_at": self._expiry(now),
            "rate_limit": self._rate_limit(),
            **self._quotas(),
        }

    def _roles(self) -> list[str]:
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise InvalidParameter(f"unknown role {unknown[0][:40]!r}; roles: {', '.join(ROLES)}")
        if self.type == "browser" and not set(self.roles) <= BROWSER_ROLES:
            raise InvalidParameter(
                "browser keys may grant only government or member roles: their secret is "
                "visible in web pages; use a server key for publishing or administration"
            )
        return sorted(set(self.roles))

    def _areas(self) -> list[str]:
        for area in self.areas:
            if not AREA.fullmatch(area):
                raise InvalidParameter(
                    f"area {area[:40]!r} is not an adcode prefix (2–6 digits, e.g. 4401 or 440106)"
                )
        return sorted(set(self.areas))

    def _quotas(self) -> dict[str, int | None]:
        unknown = sorted(set(self.quotas) - set(SERVICES))
        if unknown:
            raise InvalidParameter(
                f"no service {unknown[0][:40]!r}; services: tiles, features, processes"
            )
        out: dict[str, int | None] = {}
        for service in SERVICES:
            quota = self.quotas.get(service)
            if quota is not None and quota < 0:
                raise InvalidParameter(f"the {service} quota must be 0 or more, got {quota}")
            out[f"quota_{service}"] = quota
        return out

    def _rate_limit(self) -> int | None:
        if self.rate_limit is not None and self.rate_limit < 1:
            raise InvalidParameter(
                f"a key's rate limit must be 1 or more requests per window, got {self.rate_limit}"
            )
        return self.rate_limit

    def _expiry(self, now: datetime) -> datetime | None:
        if self.expires_at is None:
            return None
        if self.expires_at.tzinfo is None:
            raise InvalidParameter("the expiry needs a time zone offset")
        if self.expires_at <= now:
            raise InvalidParameter("the expiry is in the past")
        return self.expires_at


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never its secret)."""

    id: uuid.UUID
    department_id: str
    name: str
    type: KeyType
    referers: tuple[str, ...]
    ip_ranges: tuple[bindings.IpRange, ...]
    roles: frozenset[Role]
    areas: tuple[str, ...]
    quotas: Mapping[Service, int | None]
    rate_limit: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ApiKey:
        return cls(
            id=row["id"],
            department_id=row["department_id"],
            name=row["name"],
            type=row["type"],
            referers=tuple(row["referers"]),
            ip_ranges=tuple(row["ip_ranges"]),
            roles=frozenset(cast(list[Role], row["roles"])),
            areas=tuple(row["areas"]),
            quotas={service: row[f"quota_{service}"] for service in SERVICES},
            rate_limit=row["rate_limit"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            revoked_by=row["revoked_by"],
            created_by=row["created_by"],
            created_at=row["created_at"],
        )

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": str(self.id),
            "name": self.name,
            "department": self.department_id,
            "type": self.type,
            "status": self.status(now or utc_now()),
            "referers": list(self.referers),
            "ipRanges": [str(r) for r in self.ip_ranges],
            "roles": sorted(self.roles),
            "areas": list(self.areas),
            "quotas": dict(self.quotas),
            "rateLimit": self.rate_limit,
            "expiresAt": iso(self.expires_at),
            "revokedAt": iso(self.revoked_at),
            "revokedBy": self.revoked_by,
            "createdBy": self.created_by,
            "createdAt": iso(self.created_at),
        }

    @property
    def caller(self) -> Caller:
        return Caller(
            kind="key",
            subject=str(self.id),
            departments=frozenset({self.department_id}),
            roles=self.roles,
            areas=self.areas,
        )


def parse_key_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidParameter(f"{text[:60]!r} is not a key id (a UUID)") from None


Conn = psycopg.AsyncConnection[Any]


async def create_key(
    conn: Conn,
    spec: KeySpec,
    actor: Caller,
    now: datetime | None = None,
    *,
    client_addr: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and its audit row in one transaction; return it and its secret
    (shown this once — it cannot be recovered)."""
    params = spec.params(now or utc_now())
    secret = new_secret()
    params |= {"id": uuid.uuid4(), "secret_hash": secret_hash(secret)}
    params["created_by"] = actor.subject or actor.kind
    try:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(access_sql("insert_key"), params)
            row = await cur.fetchone()
            assert row is not None
            key = ApiKey.from_row(row)
            await write_event(conn, _change_event("key.create", key, actor, client_addr))
    except psycopg.errors.ForeignKeyViolation:
        raise InvalidParameter(
            f"department {spec.department_id[:60]!r} is not registered "
            "(departments are registered when a layer is published with --department)"
        ) from None
    return key, secret


async def revoke_key(
    conn: Conn, key_id: uuid.UUID, actor: Caller, *, client_addr: str | None = None
) -> ApiKey:
    """Revoke a key (every process stops accepting it at once); revoking it again changes
    nothing and records nothing."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(access_sql("revoke_key"), {"id": key_id, "revoked_by": _who(actor)})
        row = await cur.fetchone()
        if row is None:
            return await get_key(conn, key_id)
        key = ApiKey.from_row(row)
        await write_event(conn, _change_event("key.revoke", key, actor, client_addr))
    return key


async def get_key(conn: Conn, key_id: uuid.UUID) -> ApiKey:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(access_sql("key_by_id"), {"id": key_id})
        row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no API key {key_id}; see `onemap keys list`")
    return ApiKey.from_row(row)


async def list_keys(
    conn: Conn, department: str | None = None, include_revoked: bool = False
) -> list[ApiKey]:
    async with conn.cursor(row_factory=dict_row) as cur:
        params = {"department": department, "include_revoked": include_revoked}
        await cur.execute(access_sql("list_keys"), params)
        return [ApiKey.from_row(row) for row in await cur.fetchall()]


async def key_usage(
    conn: Conn, key_id: uuid.UUID, since: date, until: date
) -> list[tuple[date, Service, int]]:
    """Counted requests of a key per Asia/Shanghai day and service (flushed counts)."""
    await get_key(conn, key_id)  # an unknown key is a 404, not an empty list
    cur = await conn.execute(
        access_sql("key_usage"), {"id": key_id, "since": since, "until": until}
    )
    return [(day, cast(Service, service), count) for day, service, count in await cur.fetchall()]


async def find_key(conn: Conn, secret: str, day: date) -> tuple[ApiKey, dict[str, int]] | None:
    """The key a secret belongs to, with its counted usage on ``day``; None if unknown."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    digest = secret_hash(secret)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(access_sql("key_by_hash"), {"hash": digest, "day": day})
        row = await cur.fetchone()
    # The index finds the row by hash; comparing the digests again in constant time keeps
    # the decision itself free of timing differences.
    if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), digest):
        return None
    return ApiKey.from_row(row), dict(row["usage"])


def check_key(
    key: ApiKey,
    service: Service | None,
    referer: str | None,
    client_ip: str | None,
    now: datetime,
    used: int = 0,
) -> Caller:
    """The caller a key makes of a request, or the one error that refuses it: revoked or
    expired (401), used from a host or address it is not bound to, or for a service its
    quota is 0 for (403), or ``used`` (today's requests so far) at its quota (429)."""
    if key.revoked_at is not None:
        raise AuthenticationFailed("this API key was revoked", "key")
    if key.expires_at is not None and key.expires_at <= now:
        raise AuthenticationFailed(f"this API key expired at {key.expires_at.isoformat()}", "key")
    _check_binding(key, referer, client_ip)
    if service is None:  # a path of no service: no quota applies
        return key.caller
    quota = key.quotas.get(service)
    if quota == 0:
        raise Forbidden(f"this API key may not use the {service} service")
    if quota is not None and used >= quota:
        raise QuotaExceeded(
            f"this API key used its daily {service} quota ({quota}); it resets at midnight "
            "China Standard Time",
            seconds_until_next_day(now),
        )
    return key.caller


def _check_binding(key: ApiKey, referer: str | None, client_ip: str | None) -> None:
    if key.type == "browser" and key.referers:
        host = bindings.referer_host(referer)
        if host is None:
            raise Forbidden("this browser key needs the page's Referer or Origin header")
        if not bindings.host_allowed(host, key.referers):
            raise Forbidden(f"this API key may not be used from {host[:100]}")
    if (
        key.type == "server"
        and key.ip_ranges
        and not bindings.address_allowed(client_ip, key.ip_ranges)
    ):
        shown = (client_ip or "an unknown address")[:60]
        raise Forbidden(f"this API key may not be used from {shown}")


def _who(actor: Caller) -> str:
    return actor.subject or actor.kind


def _change_event(
    operation: str, key: ApiKey, actor: Caller, client_addr: str | None
) -> AuditEvent:
    detail: dict[str, Any] = {"key_id": str(key.id), "name": key.name}
    detail["department"] = key.department_id
    detail |= {"type": key.type, "roles": sorted(key.roles), "areas": list(key.areas)}
    return AuditEvent(operation=operation, actor=actor, client_addr=client_addr, detail=detail)
