"""The red-line compliance report: tables per class, county and parcel, as JSON and HTML."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spatial.redline import NOT_COMPLIANT, REVIEW, Overlaps, Rule

OUTSIDE = "（辖区外）"  # a part outside every county
M2_PER_HA = 10_000.0
CHINA = ZoneInfo("Asia/Shanghai")
M2_PER_MU = 10_000.0 / 15  # 1 亩 = 1/15 ha


def _areas(area_m2: float) -> dict[str, float]:
    return {
        "area_m2": round(area_m2, 2),
        "area_ha": round(area_m2 / M2_PER_HA, 4),
        "area_mu": round(area_m2 / M2_PER_MU, 2),
    }


def _plain(value: Any) -> Any:
    return None if pd.isna(value) else value.item() if hasattr(value, "item") else value


def summarise(
    overlaps: Overlaps,
    parcel_ids: Sequence[Any],
    parcel_areas: NDArray[np.float64],
    classes: Sequence[str],
    unit_names: dict[Any, str],
    rule: Rule,
) -> dict[str, Any]:
    """The report: overall verdict, the rule, and the overlaps per class, county and parcel."""
    parts = overlaps.parts
    by_class = parts.groupby("class")["area_m2"].sum()
    hit = parts[parts["area_m2"] > rule.tolerance_m2].groupby("class")["parcel"].nunique()
    class_table = [
        {"class": c, **_areas(float(by_class.get(c, 0.0))), "parcels": int(hit.get(c, 0))}
        for c in classes
    ]
    sums = overlaps.by_unit.groupby(["unit", "class"], dropna=False)["area_m2"].sum()
    county = sums.sort_index().reset_index()
    county_table = [
        {
            "adcode": _plain(unit),
            "name": OUTSIDE if pd.isna(unit) else unit_names.get(unit, OUTSIDE),
            "class": zone_class,
            **_areas(float(area)),
        }
        for unit, zone_class, area in zip(
            county["unit"], county["class"], county["area_m2"], strict=True
        )
    ]
    per_parcel = parts.set_index(["parcel", "class"])["area_m2"]
    parcel_table = []
    for i, (pid, area) in enumerate(zip(parcel_ids, parcel_areas, strict=True)):
        overlaps_m2 = {c: float(per_parcel.get((i, c), 0.0)) for c in classes}
        verdict, reason = rule.verdict(float(area), overlaps_m2)
        parcel_table.append(
            {
                "parcel": _plain(pid),
                **_areas(float(area)),
                "overlaps_m2": {c: round(a, 2) for c, a in overlaps_m2.items()},
                "verdict": verdict,
                "reason": reason,
            }
        )
    verdicts = {p["verdict"] for p in parcel_table}
    overall = next((v for v in (NOT_COMPLIANT, REVIEW) if v in verdicts), "符合")
    return {
        "verdict": overall,
        "rule": rule.statement(),
        "classes": class_table,
        "counties": county_table,
        "parcels": parcel_table,
    }


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    text = (resources.files("spatial") / "templates" / "redline_report.html").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(text)


def render_html(report: dict[str, Any], sources: dict[str, str]) -> str:
    """A printable page of the report (A4, tables never split across a page break)."""
    created = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M 北京时间")
    return _template().render(report=report, sources=sources, created=created)
