"""Who may manage change notifications (the gate's rule for ``/admin/subscriptions``).

A subscription watches a layer, or every layer of a department, for a receiving
department. Admins manage every one; a publisher those watching their own departments'
layers — the layers they may change (``writable_layer``: a layer they cannot see is a 404,
one not theirs a 403). Anyone else is refused. A subscription a publisher does not manage
is a 404 to them, as an unknown id. The receiver must be able to read a watched layer
(``rules.may_read`` as a member of its department), else nothing could ever be sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.access.caller import Caller
from layers.access.rules import may_read, may_write
from layers.catalog import Catalog
from layers.errors import Forbidden, InvalidParameter
from layers.webhooks.subscriptions import subscriber
from ogc.gate.ownership import writable_layer


@dataclass(frozen=True)
class Watched:
    """What a new subscription watches: a layer (and its department), or a department."""

    department: str | None
    layer_id: str | None


def managed_by(caller: Caller) -> frozenset[str] | None:
    """The departments whose layers' subscriptions ``caller`` manages (None: all, admins)."""
    if caller.is_admin:
        return None
    if "publisher" not in caller.roles or not caller.departments:
        raise Forbidden(
            "change notifications are managed by admins and by publishers of the watched "
            "layers' department"
        )
    return caller.departments


def watched_for(
    catalog: Catalog, caller: Caller, layer_id: str | None, layers_of: str | None, receiver: str
) -> Watched:
    """What ``caller`` asks a subscription for ``receiver`` to watch, if they may."""
    managed_by(caller)
    if (layer_id is None) == (layers_of is None):
        raise InvalidParameter("name either 'layer' (one layer) or 'layersOf' (a department)")
    if layer_id is not None:
        layer = writable_layer(catalog, layer_id, caller)
        if not may_read(layer, subscriber(receiver)):
            raise InvalidParameter(
                f"department {receiver!r} may not read layer '{layer.id}' "
                "(its access level); it would never be told of a change"
            )
        return Watched(layer.department_id, layer.id)
    if not may_write(layers_of, caller):
        raise Forbidden(
            f"you publish for {', '.join(sorted(caller.departments))}, not {layers_of!r}"
        )
    return Watched(layers_of, None)
