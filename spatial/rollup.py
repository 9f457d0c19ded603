"""Roll a county-level attribute up to city and province level by GB/T 2260 code."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from layers.errors import InvalidParameter

Aggregation = Literal["sum", "mean", "min", "max", "weighted_mean"]


def parent_code(adcode: str, level: Literal["city", "province"]) -> str:
    """440106 → 440100 (city) or 440000 (province)."""
    return adcode[:4] + "00" if level == "city" else adcode[:2] + "0000"


def roll_up(
    table: pd.DataFrame,
    value_field: str,
    how: Aggregation = "sum",
    code_field: str = "adcode",
    weight_field: str | None = None,
) -> pd.DataFrame:
    """Rows for every county, city and province: ``adcode``, ``level``, ``value``, ``n``.

    ``weighted_mean`` weights each county by ``weight_field`` (e.g. area or population).
    Cities without counties of their own (Dongguan, Zhongshan) roll up from whatever
    rows carry their codes, so a town-less city simply has no county rows.
    """
    named = {"value_field": value_field, "code_field": code_field, "weight_field": weight_field}
    for param, name in named.items():
        if name is not None and name not in table.columns:
            raise InvalidParameter(
                f"{param}: field '{name}' is not in the layer: {list(table.columns)}"
            )
    if how == "weighted_mean" and weight_field is None:
        raise InvalidParameter("weight_field: 'weighted_mean' needs one (e.g. area_km2)")
    base = pd.DataFrame(
        {
            "adcode": table[code_field].astype(str),
            "value": pd.to_numeric(table[value_field], errors="coerce"),
            "weight": pd.to_numeric(table[weight_field], errors="coerce") if weight_field else 1.0,
        }
    )
    base = base[base["adcode"].str.fullmatch(r"[0-9]{6}")]
    county = base.assign(level="county", n=1)[["adcode", "level", "value", "n"]]
    levels = [county]
    for level in ("city", "province"):
        grouped = base.assign(adcode=base["adcode"].map(lambda c, lv=level: parent_code(c, lv)))
        levels.append(_aggregate(grouped, how).assign(level=level))
    return pd.concat(levels, ignore_index=True)[["adcode", "level", "value", "n"]]


def _aggregate(rows: pd.DataFrame, how: Aggregation) -> pd.DataFrame:
    groups = rows.groupby("adcode")
    if how == "weighted_mean":
        weighted = (rows["value"] * rows["weight"]).groupby(rows["adcode"]).sum()
        weights = rows["weight"].where(rows["value"].notna()).groupby(rows["adcode"]).sum()
        value = weighted / weights.replace(0, np.nan)
    else:
        value = getattr(groups["value"], how)()
    return pd.DataFrame({"value": value, "n": groups.size()}).reset_index()
