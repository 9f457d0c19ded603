"""The admin API: API keys and the audit log (``layers.access``).

Only for admins: a caller with the admin role (the gate's: an OIDC user or a server key
holding it, or the holder of the publisher token, a local admin credential for scripts).
Writes pass ``ogc/http/write_guard.py`` like every other write (same origin only).
Responses are ``Cache-Control: no-store``: they are about who may do what.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from layers.access.audit import MAX_PAGE, AuditQuery, query_events
from layers.access.caller import Caller
from layers.access.days import shanghai_day, utc_now
from layers.access.keys import (
    KeySpec,
    create_key,
    get_key,
    key_usage,
    list_keys,
    parse_key_id,
    revoke_key,
)
from layers.errors import Forbidden, InvalidParameter
from ogc.deps import BaseUrlDep, CallerDep, PoolDep
from ogc.gate.caller import PUBLISHER
from ogc.openapi.params import UUID

router = APIRouter(prefix="/admin", tags=["Administration"])
NO_STORE = {"Cache-Control": "no-store"}
KeyId = Annotated[
    str, PathParam(alias="keyId", description="Key id (UUID)", json_schema_extra=UUID)
]
USAGE_DAYS = 7
# RFC 3339 as written: pydantic alone would also read "0.5" or "1700000000" as a Unix time.
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(pattern: re.Pattern[str], example: str) -> BeforeValidator:
    def written(value: object) -> object:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"not an RFC 3339 value like {example}")
        return value

    return BeforeValidator(written)


Day = Annotated[date, _rfc3339(FULL_DATE, "2026-12-01")]
Instant = Annotated[datetime, _rfc3339(DATE_TIME, "2026-12-01T08:00:00+08:00")]


# The publisher token's holder, as key changes and the audit name it.
TOKEN_ADMIN = Caller(kind="user", subject=f"publisher-{PUBLISHER.subject}", roles=PUBLISHER.roles)


def admin_caller(caller: CallerDep) -> Caller:
    """Who administers: a caller with the admin role; anyone else is refused (403)."""
    if not caller.is_admin:
        raise Forbidden(
            "the admin API needs the admin role: a token of a user or a server key holding "
            "it, or 'Authorization: Bearer <ONEMAP_PUBLISHER_TOKEN>'"
        )
    return TOKEN_ADMIN if caller == PUBLISHER else caller


AdminDep = Annotated[Caller, Depends(admin_caller)]


class KeyRequest(BaseModel):
    """A new API key. Quotas are per Asia/Shanghai day (absent/null: unlimited, 0: refused)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    department: str = Field(
        max_length=48, description="Registered department id", json_schema_extra={"minLength": 1}
    )
    name: str = Field(
        max_length=200,
        description="What the key is for",
        json_schema_extra={"pattern": "^[^\\x00-\\x1f\\x7f]{1,200}$"},
    )
    type: Literal["browser", "server"] = "server"
    referers: list[str] = Field(
        default_factory=list, max_length=100, description="Browser keys: hosts, e.g. *.gd.gov.cn"
    )
    ip_ranges: list[str] = Field(
        default_factory=list,
        max_length=100,
        alias="ipRanges",
        description="Server keys: addresses or CIDR ranges, e.g. 10.44.0.0/16",
    )
    roles: list[Literal["government", "member", "publisher", "admin"]] = Field(default_factory=list)
    areas: list[str] = Field(
        default_factory=list, max_length=100, description="Adcode prefixes, e.g. 440106"
    )
    quotas: dict[str, int | None] = Field(
        default_factory=dict,
        description='Per day and service (tiles, features, processes), e.g. {"tiles": 100000}',
    )
    expires_at: Instant | None = Field(default=None, alias="expiresAt")
    rate_limit: int | None = Field(
        default=None,
        alias="rateLimit",
        description="Requests per rate window (ONEMAP_RATE_WINDOW_S); unset: the default",
    )

    def spec(self) -> KeySpec:
        return KeySpec(
            department_id=self.department,
            name=self.name,
            type=self.type,
            referers=tuple(self.referers),
            ip_ranges=tuple(self.ip_ranges),
            roles=tuple(self.roles),
            areas=tuple(self.areas),
            quotas=self.quotas,
            expires_at=self.expires_at,
            rate_limit=self.rate_limit,
        )


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/keys", summary="API keys (never their secrets)")
async def keys_list(
    pool: PoolDep,
    admin: AdminDep,
    department: Annotated[str | None, Query(max_length=48)] = None,
    include_revoked: Annotated[bool, Query(alias="includeRevoked")] = False,
) -> JSONResponse:
    async with pool.connection() as conn:
        keys = await list_keys(conn, department, include_revoked)
    return JSONResponse({"keys": [key.to_json() for key in keys]}, headers=NO_STORE)


@router.post(
    "/keys", status_code=201, summary="Create an API key; its secret is in this answer only"
)
async def keys_create(
    request: Request, pool: PoolDep, admin: AdminDep, body: KeyRequest
) -> JSONResponse:
    async with pool.connection() as conn:
        key, secret = await create_key(conn, body.spec(), admin, client_addr=_client(request))
    return JSONResponse({"key": key.to_json(), "secret": secret}, status_code=201, headers=NO_STORE)


@router.delete("/keys/{keyId}", summary="Revoke an API key (every server refuses it at once)")
async def keys_revoke(
    request: Request, pool: PoolDep, admin: AdminDep, key_id: KeyId
) -> JSONResponse:
    parsed = parse_key_id(key_id)
    async with pool.connection() as conn:
        key = await revoke_key(conn, parsed, admin, client_addr=_client(request))
    return JSONResponse(key.to_json(), headers=NO_STORE)


@router.get("/keys/{keyId}/usage", summary="A key's counted requests per day and service")
async def keys_usage(
    pool: PoolDep,
    admin: AdminDep,
    key_id: KeyId,
    since: Annotated[Day | None, Query(description="First day (CST); default 6 days ago")] = None,
    until: Annotated[Day | None, Query(description="Last day (CST); default today")] = None,
) -> JSONResponse:
    parsed = parse_key_id(key_id)
    last = until or shanghai_day(utc_now())
    first = since or last - timedelta(days=USAGE_DAYS - 1)
    if first > last:
        raise InvalidParameter("since is after until")
    async with pool.connection() as conn:
        key = await get_key(conn, parsed)
        rows = await key_usage(conn, parsed, first, last)
    usage = [
        {"day": day.isoformat(), "service": service, "count": count, "quota": key.quotas[service]}
        for day, service, count in rows
    ]
    document = {"key": key.to_json(), "since": first.isoformat(), "until": last.isoformat()}
    return JSONResponse(document | {"usage": usage}, headers=NO_STORE)


@router.get("/audit", summary="Audit events, newest first")
async def audit_events(
    request: Request,
    pool: PoolDep,
    base: BaseUrlDep,
    admin: AdminDep,
    since: Annotated[Instant | None, Query(description="From (with an offset)")] = None,
    until: Annotated[Instant | None, Query(description="Before (with an offset)")] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    layer: Annotated[str | None, Query(max_length=48)] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[Literal["ok", "denied", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JSONResponse:
    query = AuditQuery(since, until, actor, layer, operation, outcome, limit, offset)
    async with pool.connection() as conn:
        events = await query_events(conn, query)
    document: dict[str, Any] = {"events": events, "limit": limit, "offset": offset}
    if len(events) == limit:
        params = dict(request.query_params) | {"offset": str(offset + limit)}
        next_page = f"{base}/admin/audit?{urlencode(params)}"
        document["links"] = [{"rel": "next", "href": next_page}]
    return JSONResponse(document, headers=NO_STORE)
