"""Batches: several creates, replaces, updates and deletes in one request (ADR 0013, 10).

A batch document is ``{"operations": [...]}``; each operation names its ``op`` and, for
all but a create, the feature's ``id`` and a precondition (``ifMatch`` or
``ifUnmodifiedSince``, the values of the headers a single edit sends). A GeoJSON
FeatureCollection POSTed to the items is a batch of creates. Everything that needs no
database is checked here, before the transaction; errors name the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from layers.edit.revision import Preconditions
from layers.errors import InvalidParameter, OneMapError, PayloadTooLarge

MAX_OPERATIONS = 1000  # a county's correction round; larger changes are a re-ingest
Op = Literal["create", "replace", "update", "delete"]
OPS: tuple[Op, ...] = ("create", "replace", "update", "delete")
BODY_MEMBER = {"create": "feature", "replace": "feature", "update": "patch", "delete": None}
T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """One operation as sent: ``body`` is the Feature (create, replace) or the merge patch
    (update), ``feature_id`` the URI's id as text (None for a create)."""

    index: int
    op: Op
    feature_id: str | None
    body: dict[str, Any] | None
    preconditions: Preconditions

    @property
    def label(self) -> str:
        target = f" of feature {self.feature_id}" if self.feature_id is not None else ""
        return f"operation {self.index} ({self.op}{target})"


def parse_batch(document: Any) -> list[Operation]:
    """The operations of a batch document or of a FeatureCollection (creates only)."""
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise InvalidParameter("a FeatureCollection needs a 'features' array")
        items = [{"op": "create", "feature": feature} for feature in features]
    elif isinstance(document, dict) and isinstance(document.get("operations"), list):
        items = document["operations"]
    else:
        raise InvalidParameter(
            'send {"operations": [{"op": "create", "feature": {...}}, ...]} '
            "or a GeoJSON FeatureCollection of new features"
        )
    if not items:
        raise InvalidParameter("the batch has no operations")
    if len(items) > MAX_OPERATIONS:
        raise PayloadTooLarge(f"a batch may hold {MAX_OPERATIONS} operations at most")
    operations = [_operation(index, item) for index, item in enumerate(items)]
    _refuse_repeats(operations)
    return operations


def _operation(index: int, item: Any) -> Operation:
    where = f"operation {index}"
    if not isinstance(item, dict) or item.get("op") not in OPS:
        raise InvalidParameter(f"{where}: needs an 'op' of {', '.join(OPS)}")
    op: Op = item["op"]
    feature_id = _feature_id(where, op, item.get("id"))
    member = BODY_MEMBER[op]
    body = item.get(member) if member else None
    if member and not isinstance(body, dict):
        raise InvalidParameter(f"{where} ({op}): needs a '{member}' object")
    preconditions = Preconditions(
        _text(where, item, "ifMatch"), _text(where, item, "ifUnmodifiedSince")
    )
    return Operation(index, op, feature_id, body, preconditions)


def _feature_id(where: str, op: Op, value: Any) -> str | None:
    if op == "create":
        if value is not None:
            raise InvalidParameter(f"{where} (create): the server assigns the id; remove 'id'")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidParameter(f"{where} ({op}): needs the feature's 'id'")
    return str(value)


def _text(where: str, item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidParameter(f"{where}: '{name}' must be a string (the header's value)")
    return value


def _refuse_repeats(operations: list[Operation]) -> None:
    """One operation per feature: a second one's precondition could not name the
    revision the first one makes inside the same batch."""
    seen: set[str] = set()
    for operation in operations:
        if operation.feature_id is None:
            continue
        if operation.feature_id in seen:
            raise InvalidParameter(
                f"{operation.label}: the batch already changes this feature; "
                "send one operation per feature"
            )
        seen.add(operation.feature_id)


@contextmanager
def naming(operation: Operation) -> Iterator[None]:
    """Errors inside the block say which operation they are about (same class, so the
    same HTTP status as the single edit)."""
    try:
        yield
    except OneMapError as exc:
        exc.message = f"{operation.label}: {exc.message}"
        exc.args = (exc.message,)
        raise


def each_named(operations: list[Operation], step: Callable[[Operation], T]) -> list[T]:
    """``step`` of every operation, its errors named."""
    results: list[T] = []
    for operation in operations:
        with naming(operation):
            results.append(step(operation))
    return results
