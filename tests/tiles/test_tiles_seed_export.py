"""Seeding and offline packages through the real command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pmtiles.reader import MmapSource, Reader

from layers.errors import NotFound
from layers.settings import ServiceSettings
from ogc.cli.main import cli
from tests.tiles.helpers import decode


@pytest.fixture
def cli_env(tile_settings: ServiceSettings, tmp_path: Path) -> dict[str, str]:
    assert tile_settings.database_url
    return {
        "ONEMAP_DATABASE_URL": tile_settings.database_url,
        "ONEMAP_TILE_CACHE_DIR": str(tmp_path / "cache"),
    }


def test_seed_by_adcode_fills_the_cache(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["tiles", "seed", "gd-counties", "--zoom", "6-8", "--adcode", "4401*"], env=cli_env
    )
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "cache" / "gd-counties").rglob("*.mvt"))
    assert files and any(f.stat().st_size > 0 for f in files)


def test_seed_by_adcode_reads_onemap_admin_layers(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "ONEMAP_ADMIN_LAYERS": "no-province,no-cities,no-counties"}
    result = CliRunner().invoke(
        cli, ["tiles", "seed", "gd-counties", "--zoom", "6", "--adcode", "4401*"], env=env
    )
    assert isinstance(result.exception, NotFound)  # onemap's entry point prints it
    assert "no administrative unit has a code matching '4401*'" in str(result.exception)


def test_export_pmtiles_and_mbtiles_are_readable(cli_env: dict[str, str], tmp_path: Path) -> None:
    pm = tmp_path / "cities.pmtiles"
    result = CliRunner().invoke(
        cli,
        ["tiles", "export", "gd-cities", "--format", "pmtiles", "--zoom", "0-6", "-o", str(pm)],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    with open(pm, "rb") as handle:
        reader = Reader(MmapSource(handle))
        header = reader.header()
        assert header["max_zoom"] == 6
        import gzip

        tile = reader.get(6, 52, 27)
        assert tile and "gd-cities" in decode(gzip.decompress(tile))
    mb = tmp_path / "cities.mbtiles"
    result = CliRunner().invoke(
        cli,
        [
            "tiles",
            "export",
            "gd-cities",
            "--format",
            "mbtiles",
            "--tiles",
            "png",
            "--zoom",
            "5-7",
            "-o",
            str(mb),
        ],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    info = json.loads(
        subprocess.run(
            ["gdalinfo", "-json", str(mb)], capture_output=True, text=True, check=True
        ).stdout
    )
    assert info["driverShortName"] == "MBTiles" and info["size"][0] > 0
    mvt_mb = tmp_path / "cities-mvt.mbtiles"
    result = CliRunner().invoke(
        cli,
        ["tiles", "export", "gd-cities", "--format", "mbtiles", "--zoom", "5-7", "-o", str(mvt_mb)],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    ogr = subprocess.run(["ogrinfo", "-ro", "-so", str(mvt_mb)], capture_output=True, text=True)
    assert "gd-cities" in ogr.stdout, ogr.stdout + ogr.stderr
