"""Environmental monitoring series: hourly/daily/monthly values, AQI and exceedances."""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, Field, field_validator

from layers.catalog import Layer
from layers.errors import InvalidParameter
from spatial.aqi import Pollutant
from spatial.context import Context
from spatial.errors import about
from spatial.inputs import LayerInput
from spatial.monitoring import (
    county_days,
    county_series,
    monitoring_days,
    months,
    summary,
    with_indices,
)
from spatial.monitoring_hours import hourly_columns, monitoring_hours, with_hour_indices
from spatial.monitoring_inputs import parse_window, read_window, station_counties, timed_layer
from spatial.registry import Analysis, OutputSpec
from spatial.results import AnalysisResult


class MonitoringInputs(BaseModel):
    layer: LayerInput = Field(
        description="Time-enabled point layer of hourly readings, e.g. "
        "synthetic-station-readings; its temporal field is each reading's hour"
    )
    values: dict[Pollutant, str] = Field(
        {"pm25": "pm25", "no2": "no2"},
        min_length=1,
        description="Pollutant (pm25, pm10, so2, no2, co, o3) → numeric field of its hourly "
        "concentrations in µg/m³ (CO in mg/m³)",
    )
    station_field: str = Field("station_id", description="Field naming each reading's station")
    period: Literal["hour", "day", "month"] = Field(
        "day",
        description="Series of China Standard Time hours (HJ 633-2012 hourly report: 1-hour "
        "IAQIs, exceedance hours of the grade II 1-hour limits), of days (daily report: "
        "24-hour IAQIs, exceedance days), or of months of valid days",
    )
    window: str | None = Field(
        None,
        description="RFC 3339 interval start/end ('..' open); dates are whole CST days (end "
        "included), date-times without an offset CST. Default: every reading",
        examples=["2025-06-01/2025-06-21"],
    )
    county_field: str | None = Field(
        None,
        description="Field holding each station's 6-digit county code; default: the county "
        "of the admin county layer the station lies in",
    )

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        parse_window(value)
        return value


def run_monitoring(inputs: MonitoringInputs, ctx: Context) -> AnalysisResult:
    layer, time_field = timed_layer(ctx, inputs.layer)
    _check_fields(layer, inputs)
    readings = read_window(ctx, inputs.layer, time_field, parse_window(inputs.window))
    if readings.empty:
        with about("window"):
            raise InvalidParameter(f"'{layer.id}' has no readings in {inputs.window or 'it'}")
    ctx.progress(30, f"{len(readings)} readings read")
    codes = station_counties(ctx, readings, inputs.station_field, inputs.county_field)
    series = _hourly if inputs.period == "hour" else _daily
    stations, station_rows, unit_rows, unit_summary = series(inputs, readings, time_field, codes)
    ctx.progress(80, f"{len(station_rows)} station {inputs.period}s")
    station_summary = stations.assign(adcode=lambda t: t["station"].map(codes))
    return AnalysisResult(
        features={"stations": _station_points(readings, inputs.station_field, station_summary)},
        values={
            "station_series": _records(station_rows),
            "county_series": _records(unit_rows),
            "county_summary": _records(unit_summary),
        },
    )


Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]


def _daily(
    inputs: MonitoringInputs, readings: pd.DataFrame, time_field: str, codes: pd.Series
) -> Tables:
    """Station summary, station rows, county rows, county summary of days (or months)."""
    pollutants = list(inputs.values)
    stations = with_indices(
        monitoring_days(readings, inputs.station_field, time_field, inputs.values), pollutants
    )
    units = with_indices(county_days(stations, codes, pollutants), pollutants)
    station_rows, unit_rows = stations, units
    if inputs.period == "month":
        station_rows = months(stations, ["station"], pollutants)
        unit_rows = months(units, ["adcode", "level"], pollutants)
    return (
        summary(stations, ["station"], pollutants),
        station_rows,
        unit_rows,
        summary(units, ["adcode", "level"], pollutants),
    )


def _hourly(
    inputs: MonitoringInputs, readings: pd.DataFrame, time_field: str, codes: pd.Series
) -> Tables:
    """The same tables of hours."""
    pollutants = list(inputs.values)
    hours = monitoring_hours(readings, inputs.station_field, time_field, inputs.values)
    stations = with_hour_indices(hours, pollutants)
    county = county_series(stations, codes, hourly_columns(pollutants), "hour")
    units = with_hour_indices(county, pollutants)
    return (
        summary(stations, ["station"], pollutants, "hour"),
        stations,
        units,
        summary(units, ["adcode", "level"], pollutants, "hour"),
    )


def _check_fields(layer: Layer, inputs: MonitoringInputs) -> None:
    """Every named field exists in the layer, and the values are numbers (a text field
    would give no valid hour, silently)."""
    named = {
        "station_field": [inputs.station_field],
        "values": list(inputs.values.values()),
        "county_field": [inputs.county_field] if inputs.county_field else [],
    }
    for name, fields in named.items():
        for field in fields:
            found = layer.field(field)
            if found is None:
                raise InvalidParameter(f"{name}: no field {field!r} in '{layer.id}'")
            if name == "values" and found.type not in ("integer", "number"):
                raise InvalidParameter(f"values: field {field!r} is {found.type}, not numeric")


def _station_points(
    readings: gpd.GeoDataFrame, station_field: str, table: pd.DataFrame
) -> gpd.GeoDataFrame:
    first = readings.drop_duplicates(station_field)
    where = dict(zip(first[station_field].astype(str), first.geometry, strict=True))
    return gpd.GeoDataFrame(table, geometry=table["station"].map(where).to_list(), crs=readings.crs)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON rows with null for a missing value (the encoder writes dates and numpy numbers)."""
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in row.items()} for row in rows]


MONITORING = Analysis(
    id="monitoring-series",
    title="Monitoring series: hourly and daily AQI, exceedance hours and days",
    description="Hourly readings of a time-enabled layer → hourly, daily (China Standard "
    "Time) or monthly values per station and per county/city/province (mean of stations), "
    "with valid-hour counts (a day needs ≥ 20 hours, GB 3095-2012), IAQI per pollutant and "
    "AQI, primary pollutant and category (HJ 633-2012 daily or hourly report: SO2 above "
    "800 µg/m³ indexed by its 24-hour mean, PM by its 24-hour breakpoints), and GB "
    "3095-2012 grade II exceedance days (24-hour limits) or hours (1-hour limits).",
    domain="environment",
    inputs=MonitoringInputs,
    outputs={
        "stations": OutputSpec(
            "features", "Stations with valid and exceedance days (or hours), AQI max"
        ),
        "station_series": OutputSpec("value", "Rows per station and period"),
        "county_series": OutputSpec("value", "Rows per county/city/province and period"),
        "county_summary": OutputSpec(
            "value", "Exceedance days (or hours) per county/city/province"
        ),
    },
    run=run_monitoring,
    keywords=("AQI", "HJ 633", "GB 3095", "time series", "exceedance"),
)

ANALYSES = (MONITORING,)
