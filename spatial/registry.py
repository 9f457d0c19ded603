"""A frozen registry of analyses with typed inputs and described outputs.

``register`` returns a new registry, so a deployment (or a test) can add analyses
without mutating the default one; the web layer builds its process list and its
request validation from what is registered here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from layers.errors import InvalidParameter, NotFound
from spatial.bounds import Cost
from spatial.context import Context
from spatial.errors import check_finite
from spatial.inputs import NamedInput
from spatial.results import AnalysisResult

InputsT = TypeVar("InputsT", bound=BaseModel)
OutputKind = Literal["features", "raster", "value", "html"]
MEDIA_TYPES = {
    "features": "application/geo+json",
    "raster": "image/tiff; application=geotiff",
    "value": "application/json",
    "html": "text/html; charset=utf-8",  # a printable report
}


@dataclass(frozen=True)
class OutputSpec:
    kind: OutputKind
    title: str
    description: str = ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


@dataclass(frozen=True)
class Analysis(Generic[InputsT]):
    """One analysis: its id, what it is for, its input model, outputs and function."""

    id: str
    title: str
    description: str
    domain: Literal["emergency", "environment", "planning"]
    inputs: type[InputsT]
    outputs: Mapping[str, OutputSpec]
    run: Callable[[InputsT, Context], AnalysisResult]
    keywords: tuple[str, ...] = ()
    version: str = "1.0.0"
    # The peak memory of the heavy part, from parsed inputs and catalog entries only (no
    # features or pixels read): checked before a job exists (``spatial.bounds``).
    estimate: Callable[[InputsT, Context], Cost] | None = None

    def parse(self, values: Mapping[str, Any]) -> InputsT:
        """Validate raw inputs; a validation error becomes a 400 naming the input.

        Layer and raster inputs learn their input's name, so what goes wrong while they
        are read (an unknown layer, a raster given for vectors) names it too.
        """
        check_finite(values)
        try:
            parsed = self.inputs.model_validate(dict(values))
        except ValidationError as exc:
            raise InvalidParameter(f"{self.id}: {describe_validation(exc)}") from None
        name_inputs(parsed)
        return parsed

    def cost(self, values: Mapping[str, Any], ctx: Context) -> Cost | None:
        """What a run on ``values`` would cost, or None when it declares no estimate."""
        return None if self.estimate is None else self.estimate(self.parse(values), ctx)

    def execute(self, values: Mapping[str, Any], ctx: Context) -> AnalysisResult:
        parsed = self.parse(values)
        ctx.parameters = recorded_parameters(parsed)
        result = self.run(parsed, ctx)
        result.lineage = ctx.lineage()
        return result

    def input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.inputs.model_json_schema()
        return schema


def name_inputs(model: BaseModel, prefix: str = "") -> None:
    """Tell each nested layer/raster input the name of the input it is."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, NamedInput):  # a copy: defaults are shared between requests
            setattr(model, name, value.named(f"{prefix}{name}"))
        elif isinstance(value, list):
            setattr(
                model,
                name,
                [
                    v.named(f"{prefix}{name}[{i}]") if isinstance(v, NamedInput) else v
                    for i, v in enumerate(value)
                ],
            )


def recorded_parameters(parsed: BaseModel) -> dict[str, Any]:
    """The parsed inputs as lineage keeps them: every input with its defaults filled in, and
    inline GeoJSON features by count and SHA-256 (the job's request keeps them whole)."""
    recorded: dict[str, Any] = _summarised(parsed.model_dump(mode="json"))
    return recorded


def _summarised(value: Any) -> Any:
    if isinstance(value, list):
        return [_summarised(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "FeatureCollection" and isinstance(value.get("features"), list):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return {"type": "FeatureCollection", "count": len(value["features"]), "sha256": digest}
    return {k: _summarised(v) for k, v in value.items()}


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "inputs"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class AnalysisRegistry:
    analyses: Mapping[str, Analysis[Any]] = field(default_factory=dict)

    def register(self, *analyses: Analysis[Any], overwrite: bool = False) -> AnalysisRegistry:
        for analysis in analyses:
            if analysis.id in self.analyses and not overwrite:
                raise ValueError(f"analysis '{analysis.id}' is already registered")
        return AnalysisRegistry({**self.analyses, **{a.id: a for a in analyses}})

    def get(self, analysis_id: str) -> Analysis[Any]:
        try:
            return self.analyses[analysis_id]
        except KeyError:
            raise NotFound(
                f"process '{analysis_id}' does not exist; see /processes for the list"
            ) from None

    def ids(self) -> list[str]:
        return list(self.analyses)

    def __iter__(self) -> Iterator[Analysis[Any]]:
        return iter(self.analyses.values())

    def __len__(self) -> int:
        return len(self.analyses)
