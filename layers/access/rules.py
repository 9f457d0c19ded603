"""The access rule: what a caller may see of a layer, as plain functions.

Every path asks these (through ``ogc/gate`` on the web side), so one place decides:

- ``public`` layers (公众版): everyone;
- ``internal`` layers (政务版): any caller holding a role (a signed-in government user, a
  key, the local command line);
- ``restricted`` layers: admins, and members or publishers of the layer's department.

A field can be marked internal in the layer's metadata (``metadata.internal_fields``: a
list of field names): callers below the internal level — those without a role — do not
see it. An access level the rule does not know hides the layer from everyone but admins.
"""

from __future__ import annotations

from layers.access.caller import PUBLIC_SCOPE, Caller, Role
from layers.catalog import FieldInfo, Layer

PUBLIC, INTERNAL, RESTRICTED = "public", "internal", "restricted"
INTERNAL_FIELDS = "internal_fields"  # the metadata key naming a layer's internal fields
DEPARTMENT_ROLES: frozenset[Role] = frozenset({"member", "publisher"})


def may_read(layer: Layer, caller: Caller) -> bool:
    """Whether ``caller`` may see ``layer`` at all (else it does not exist for them)."""
    level = layer.access_level
    if level == PUBLIC:
        return True
    if caller.is_admin:
        return True
    if level == INTERNAL:
        return bool(caller.roles)
    if level == RESTRICTED:
        return (
            layer.department_id is not None
            and layer.department_id in caller.departments
            and bool(caller.roles & DEPARTMENT_ROLES)
        )
    return False


def is_restricted(layer: Layer) -> bool:
    """Whether ``layer`` is restricted to named departments (its reads are audited)."""
    return layer.access_level == RESTRICTED


def internal_field_names(layer: Layer) -> frozenset[str]:
    """The fields the layer's metadata marks internal (a malformed marking marks none)."""
    marked = layer.metadata.get(INTERNAL_FIELDS)
    if not isinstance(marked, list | tuple):
        return frozenset()
    return frozenset(name for name in marked if isinstance(name, str))


def readable_fields(layer: Layer, caller: Caller) -> tuple[FieldInfo, ...]:
    """The layer's fields ``caller`` may read: all of them for callers with a role, the
    fields not marked internal for everyone else."""
    if caller.roles:
        return layer.fields
    hidden = internal_field_names(layer)
    if not hidden:
        return layer.fields
    return tuple(f for f in layer.fields if f.name not in hidden)


def cache_scope(layer: Layer, caller: Caller) -> str:
    """The scope a response about ``layer`` made for ``caller`` is cached under.

    ``caller.scope`` — except that a caller who sees exactly what an anonymous one sees of
    this layer (a public layer, every field the public reads, no area limit) shares the
    public scope, so public tiles are made and cached once for everyone."""
    scope = caller.scope
    if scope == PUBLIC_SCOPE:
        return PUBLIC_SCOPE
    same_as_public = (
        layer.access_level == PUBLIC
        and not caller.areas
        and not internal_field_names(layer) & set(layer.field_names)
    )
    return PUBLIC_SCOPE if same_as_public else scope
