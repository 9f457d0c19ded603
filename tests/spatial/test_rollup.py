"""Roll-up county → city → province by admin code."""

from __future__ import annotations

import pandas as pd
import pytest

from layers.errors import InvalidParameter
from spatial.rollup import roll_up

TABLE = pd.DataFrame(
    {
        "adcode": ["440103", "440104", "440303", "440304"],
        "pop": [10.0, 30.0, 5.0, None],
        "area": [1.0, 3.0, 2.0, 2.0],
    }
)


def by_code(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["adcode"], frame["value"], strict=True))


def test_sum_rolls_up_to_cities_and_province() -> None:
    result = roll_up(TABLE, "pop")
    assert by_code(result[result.level == "city"]) == {"440100": 40.0, "440300": 5.0}
    assert by_code(result[result.level == "province"]) == {"440000": 45.0}
    assert result[result.level == "province"]["n"].item() == 4


def test_weighted_mean_ignores_missing_values() -> None:
    result = roll_up(TABLE, "pop", "weighted_mean", weight_field="area")
    assert by_code(result[result.level == "city"])["440100"] == pytest.approx(100 / 4)
    assert by_code(result[result.level == "province"])["440000"] == pytest.approx(110 / 6)


def test_roll_up_errors() -> None:
    with pytest.raises(InvalidParameter, match="weight_field"):
        roll_up(TABLE, "pop", "weighted_mean")
    with pytest.raises(InvalidParameter, match="'gdp'"):
        roll_up(TABLE, "gdp")


def test_rows_finer_than_counties_are_aggregated_at_county_level_too() -> None:
    """Five stations in three counties: three county rows, each the stations' mean."""
    stations = pd.DataFrame(
        {
            "adcode": ["440103", "440103", "440104", "440303", "440303"],
            "pm25": [30.0, 40.0, 50.0, 20.0, None],
        }
    )
    result = roll_up(stations, "pm25", "mean")
    county = result[result.level == "county"]
    assert by_code(county) == {"440103": 35.0, "440104": 50.0, "440303": 20.0}
    assert dict(zip(county["adcode"], county["n"], strict=True))["440103"] == 2
    assert by_code(result[result.level == "city"]) == {"440100": 40.0, "440300": 20.0}
    assert by_code(result[result.level == "province"]) == {"440000": 35.0}


def test_a_county_without_values_is_empty_not_zero() -> None:
    county = roll_up(TABLE, "pop").query("level == 'county'")
    assert pd.isna(by_code(county)["440304"]) and by_code(county)["440103"] == 10.0


def test_a_text_value_field_is_refused() -> None:
    names = TABLE.assign(name=["a", "b", "c", "d"])
    with pytest.raises(InvalidParameter, match="value_field: field 'name' holds no numbers"):
        roll_up(names, "name")
