"""The access rule: what a caller may see of a layer, as plain functions.

Every path asks these (through ``ogc/gate`` on the web side), so one place decides:

- ``public`` layers (公众版): everyone;
- ``internal`` layers (政务版): any caller holding a role (a signed-in government user, a
  key, the local command line);
- ``restricted`` layers: admins, and members or publishers of the layer's department.

A field can be marked internal in the layer's metadata (``metadata.internal_fields``: a
list of field names): callers below the internal level — those without a role — do not
see it; ``caller_view`` is the layer as they see it (``layers.access.views``). An access
level the rule does not know hides the layer from everyone but admins.

A caller limited to administrative areas (``Caller.areas``) sees the features of internal
and restricted layers only where they intersect those areas (``area_limited``); public
layers are whole for them, as for anyone.

Writes (ingest, new version, publish of a result, rollback, metadata and access changes,
delete) are for admins and for publishers of the owning department (``may_write``); a new
layer's department comes from its creator (``new_layer_department``). Jobs belong to
whoever submitted them (``jobs_of``), and a result layer is at least as closed as the
strictest of its inputs (``strictest_level``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from layers.access.caller import PUBLIC_SCOPE, Caller, CallerKind, Role
from layers.access.views import INTERNAL_FIELDS, without_fields
from layers.catalog import FieldInfo, Layer
from layers.catalog_write import LayerMeta, require_registered
from layers.errors import Forbidden, InvalidParameter

PUBLIC, INTERNAL, RESTRICTED = "public", "internal", "restricted"
DEPARTMENT_ROLES: frozenset[Role] = frozenset({"member", "publisher"})
LEVELS = (PUBLIC, INTERNAL, RESTRICTED)  # from open to closed


def may_read(layer: Layer, caller: Caller) -> bool:
    """Whether ``caller`` may see ``layer`` at all (else it does not exist for them)."""
    return may_read_access(layer.access_level, layer.department_id, caller)


def may_read_access(level: str, department_id: str | None, caller: Caller) -> bool:
    """``may_read`` of a layer known by its access level and department only (a change
    notification's layer, which may be gone since)."""
    if level == PUBLIC:
        return True
    if caller.is_admin:
        return True
    if level == INTERNAL:
        return bool(caller.roles)
    if level == RESTRICTED:
        return (
            department_id is not None
            and department_id in caller.departments
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


def caller_view(layer: Layer, caller: Caller) -> Layer:
    """``layer`` as ``caller`` sees it: the layer itself, or for a caller below the internal
    level a view without the internal fields. Costs a metadata lookup when nothing is hidden."""
    if caller.roles:
        return layer
    marked = internal_field_names(layer)
    if not marked:  # most layers mark none: no field set to build
        return layer
    hidden = marked & set(layer.field_names)
    return without_fields(layer, hidden) if hidden else layer


def area_limited(layer: Layer, caller: Caller) -> bool:
    """Whether ``caller`` sees ``layer``'s features only inside their areas."""
    return bool(caller.areas) and layer.access_level != PUBLIC


def cache_scope(layer: Layer, caller: Caller) -> str:
    """The scope a response about ``layer`` made for ``caller`` is cached under.

    ``caller.scope`` — except that a caller who sees exactly what an anonymous one sees of
    this layer (a public layer — never clipped to areas — with no internal field) shares
    the public scope, so public tiles are made and cached once for everyone."""
    scope = caller.scope
    if scope == PUBLIC_SCOPE:
        return PUBLIC_SCOPE
    same_as_public = layer.access_level == PUBLIC and not internal_field_names(layer) & set(
        layer.field_names
    )
    return PUBLIC_SCOPE if same_as_public else scope


def may_write(target: Layer | str | None, caller: Caller) -> bool:
    """Whether ``caller`` may change a layer (or publish for a department id): admins,
    and publishers of the owning department. A layer without a department is admins' only."""
    if caller.is_admin:
        return True
    department = target.department_id if isinstance(target, Layer) else target
    return (
        department is not None and "publisher" in caller.roles and department in caller.departments
    )


def may_publish(caller: Caller) -> bool:
    """Whether ``caller`` may write anything at all (checked before an upload is read)."""
    return caller.is_admin or ("publisher" in caller.roles and bool(caller.departments))


def new_layer_department(caller: Caller, named: str | None, known: Collection[str]) -> str | None:
    """The department a layer ``caller`` creates belongs to.

    An admin may name any registered department (or none); a publisher's own department is
    taken, and one of several must be named. An unregistered name is a 400, a department
    that is not the caller's a 403."""
    require_registered(named, known)
    if caller.is_admin:
        return named
    if "publisher" not in caller.roles or not caller.departments:
        raise Forbidden("creating a layer needs a publisher of a department or an admin")
    if named is not None:
        if named not in caller.departments:
            raise Forbidden(f"you publish for {_listed(caller.departments)}, not {named!r}")
        return named
    if len(caller.departments) > 1:
        raise InvalidParameter(
            f"you publish for several departments ({_listed(caller.departments)}); "
            "name the new layer's department"
        )
    return next(iter(caller.departments))


def _listed(departments: Iterable[str]) -> str:
    return ", ".join(sorted(departments))


def may_change_owner(caller: Caller) -> bool:
    """Moving a layer to another department is an admin's decision."""
    return caller.is_admin


def result_level(inputs: Iterable[Layer | None], existing_level: str | None) -> str:
    """A result layer's level: the strictest of its input layers' (an input no longer in
    the catalog, None, counts as restricted) and, for a new version, of its own level —
    a level an owner tightened is never relaxed by republishing."""
    levels = [RESTRICTED if layer is None else layer.access_level for layer in inputs]
    return strictest_level([*levels, *([existing_level] if existing_level else [])])


def as_result_layer(
    meta: LayerMeta,
    inputs: Iterable[Layer | None],
    existing_level: str | None,
    department: str | None,
) -> LayerMeta:
    """``meta`` of a layer a process publishes: owned by ``department``, at ``result_level``."""
    return replace(
        meta, department_id=department, access_level=result_level(inputs, existing_level)
    )


def strictest_level(levels: Iterable[str]) -> str:
    """The most closed of ``levels`` (restricted > internal > public); none: public.
    A level the rule does not know counts as restricted."""
    rank = max((LEVELS.index(lv) if lv in LEVELS else 2 for lv in levels), default=0)
    return LEVELS[rank]


@dataclass(frozen=True, slots=True)
class JobScope:
    """Which jobs a caller may follow, read and dismiss, as bound SQL parameters.

    Admins: every job. Anyone else: the jobs they submitted (same kind and subject).
    Anonymous callers are all the same nobody, so their jobs are never listed: such a job
    is reached only through its URL (an unguessable UUID), by whoever holds it."""

    every_owner: bool
    owner_kind: CallerKind
    owner_subject: str | None
    listable: bool

    def params(self) -> dict[str, object]:
        return {
            "every_owner": self.every_owner,
            "owner_kind": self.owner_kind,
            "owner_subject": self.owner_subject,
            "listable": self.listable,
        }


def jobs_of(caller: Caller) -> JobScope:
    """The jobs ``caller`` may see (``JobScope``)."""
    return JobScope(
        every_owner=caller.is_admin,
        owner_kind=caller.kind,
        owner_subject=None if caller.is_anonymous else caller.subject,
        listable=caller.is_admin or not caller.is_anonymous,
    )
