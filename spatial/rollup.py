"""Roll a county-level attribute up to city and province level by GB/T 2260 code."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from layers.errors import InvalidParameter

Aggregation = Literal["sum", "mean", "min", "max", "weighted_mean"]


def parent_codes(adcodes: pd.Series, level: Literal["city", "province"]) -> pd.Series:
    """440106 → 440100 (city) or 440000 (province)."""
    return adcodes.str[:4] + "00" if level == "city" else adcodes.str[:2] + "0000"


def roll_up(
    table: pd.DataFrame,
    value_field: str,
    how: Aggregation = "sum",
    code_field: str = "adcode",
    weight_field: str | None = None,
    by: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Rows for every county, city and province: ``adcode``, ``level``, ``value``, ``n``
    (and the ``by`` columns: one such set of rows per group of them, e.g. per day).

    Rows may be finer than counties (stations, parcels, towns): each carries its county's
    code, and every level aggregates them, the county level too (``n`` rows per county).
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
            **{key: table[key] for key in by},
            "adcode": table[code_field].astype(str),
            "value": numeric_field(table, value_field, "value_field"),
            "weight": numeric_field(table, weight_field, "weight_field") if weight_field else 1.0,
        }
    )
    base = base[base["adcode"].str.fullmatch(r"[0-9]{6}")]
    keys = [*by, "adcode"]
    levels = [_aggregate(base, how, keys).assign(level="county")]
    for level in ("city", "province"):
        grouped = base.assign(adcode=parent_codes(base["adcode"], level))
        levels.append(_aggregate(grouped, how, keys).assign(level=level))
    return pd.concat(levels, ignore_index=True)[[*by, "adcode", "level", "value", "n"]]


def numeric_field(table: pd.DataFrame, name: str, param: str) -> pd.Series:
    """A numeric column; a text column (nothing in it reads as a number) is refused, not
    summed as zeros."""
    column = table[name]
    values = pd.to_numeric(column, errors="coerce")
    if column.notna().any() and values.isna().all():
        raise InvalidParameter(f"{param}: field '{name}' holds no numbers; choose a numeric field")
    return values


def _aggregate(rows: pd.DataFrame, how: Aggregation, keys: list[str]) -> pd.DataFrame:
    groups = rows.groupby(keys)
    if how == "weighted_mean":
        by = [rows[k] for k in keys]
        weighted = (rows["value"] * rows["weight"]).groupby(by).sum()
        weights = rows["weight"].where(rows["value"].notna()).groupby(by).sum()
        value = weighted / weights.replace(0, np.nan)
    elif how == "sum":
        value = groups["value"].sum(min_count=1)  # a unit without any value stays empty, not 0
    else:
        value = getattr(groups["value"], how)()
    return pd.DataFrame({"value": value, "n": groups.size()}).reset_index()
