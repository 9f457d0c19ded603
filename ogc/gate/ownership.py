"""Who may change what: the gate's write side (the rules: ``layers.access.rules``).

A write names a layer the caller must first be able to see — else it does not exist for
them (404, as on every read path) — and then may change (else 403: they see it, but it is
not theirs). A new layer belongs to a department chosen from its creator; jobs belong to
their submitter; a published result is at least as closed as its strictest input.
"""

from __future__ import annotations

from collections.abc import Iterable

from layers.access.caller import Caller
from layers.access.rules import (
    JobScope,
    as_result_layer,
    jobs_of,
    may_change_owner,
    may_publish,
    may_write,
    new_layer_department,
)
from layers.catalog import Catalog, Layer
from layers.catalog_write import LayerMeta
from layers.errors import Forbidden
from ogc.gate.caller import CALLER_KEY
from ogc.gate.visible import visible_layer
from ogc.http.asgi_types import Scope


def writable_layer(catalog: Catalog, layer_id: str, caller: Caller) -> Layer:
    """The layer ``layer_id`` if ``caller`` may change it: 404 when they cannot see it,
    403 when they see it but it is not theirs."""
    layer = visible_layer(catalog, layer_id, caller)
    if not may_write(layer, caller):
        owner = layer.department_id or "the platform's admins"
        raise Forbidden(
            f"layer '{layer_id}' belongs to {owner}; only its department's publishers "
            "and admins may change it"
        )
    return layer


def check_owner_kept(layer: Layer, named: str | None, caller: Caller) -> None:
    """A write naming another department than the layer's moves it: admins only (403)."""
    if named is not None and named != layer.department_id and not may_change_owner(caller):
        raise Forbidden(
            f"layer '{layer.id}' belongs to {layer.department_id or 'no department'}; "
            "only an admin may give it to another department"
        )


def check_access_change(layer: Layer, caller: Caller, department: str | None) -> None:
    """An access change (level, internal fields, owner) of ``layer`` by ``caller``:
    the owning department's publishers may set level and fields, only admins the owner."""
    if not may_write(layer, caller):
        raise Forbidden(
            f"layer '{layer.id}' belongs to {layer.department_id or 'no department'}; "
            "only its department's publishers and admins may change its access"
        )
    check_owner_kept(layer, department, caller)


def result_meta(
    meta: LayerMeta,
    catalog: Catalog,
    inputs: Iterable[str],
    existing_level: str | None,
    department: str | None,
) -> LayerMeta:
    """A result layer's catalog fields: owned by ``department``, as closed as the strictest
    of its input layers (and its own level, for a new version: ``rules.result_level``)."""
    return as_result_layer(
        meta, [catalog.layers.get(i) for i in inputs], existing_level, department
    )


def may_publish_in(scope: Scope) -> bool:
    """Whether the request's caller (resolved by the gate's middleware) may write at all:
    an upload from anyone else is refused before its body is read."""
    caller: Caller | None = scope.get(CALLER_KEY)
    return caller is not None and may_publish(caller)


__all__ = [
    "JobScope",
    "check_access_change",
    "check_owner_kept",
    "jobs_of",
    "may_publish_in",
    "may_write",
    "new_layer_department",
    "result_meta",
    "writable_layer",
]
