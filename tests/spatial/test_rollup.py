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
