"""A full tile-cache disk (issue 16, "Under faults"): tiles are served uncached, one warning
is logged (not one per tile), and caching resumes by itself once there is room again.

The server runs in a mount namespace of its own (``unshare``: nothing outlives it, nothing
touches the machine's mounts) whose tile cache directory is a 1 MB tmpfs filled to the
last byte, so writing a tile fails with a real ENOSPC. The test makes room by deleting the
filler through ``/proc/<pid>/root``, the server's view of the file system.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import mapbox_vector_tile

from tests.faults.conftest import process_on_port, served

COUNTIES = "gd-counties"
FULL_TMPFS = (
    'mount -t tmpfs -o size=1m onemap-test-cache "$0" && '
    '{ dd if=/dev/zero of="$0/.filler" bs=4k 2>/dev/null; true; } && exec "$@"'
)
BEFORE = [(8, 110, 208), (8, 111, 208), (8, 111, 209), (8, 110, 209)]  # Guangdong's middle
AFTER = [(8, 111, 207), (8, 112, 208)]
FAILING, RECOVERED = "cannot be written (ENOSPC", "is writable again"


def _tile(base: str, z: int, row: int, col: int) -> dict[str, object]:
    answer = httpx.get(f"{base}/collections/{COUNTIES}/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert answer.status_code == 200, answer.text
    layers: dict[str, object] = mapbox_vector_tile.decode(answer.content)
    assert layers, f"tile {z}/{row}/{col} has no features"
    return layers


def _stored(cache: Path, z: int, row: int, col: int) -> bool:
    found = list(cache.glob(f"{COUNTIES}/v*/*/*/WebMercatorQuad/{z}/{row}/{col}.mvt"))
    return any(path.stat().st_size > 0 for path in found)


def test_tiles_are_served_uncached_while_the_cache_disk_is_full(
    sample_url: str, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "tiles"
    cache_dir.mkdir()
    wrapper = ["unshare", "-Urm", "sh", "-c", FULL_TMPFS, str(cache_dir)]
    log = tmp_path / "server.log"
    with served(sample_url, tmp_path, wrapper, tile_cache_dir=cache_dir) as base:
        server = process_on_port(int(base.rsplit(":", 1)[1]))
        cache = Path(f"/proc/{server}/root") / cache_dir.relative_to("/")
        assert (cache / ".filler").stat().st_size > 0, "the tmpfs was not filled"
        for _ in range(2):  # twice: a tile not stored is made again, not an error
            for z, row, col in BEFORE:
                _tile(base, z, row, col)
        assert not any(_stored(cache, *tile) for tile in BEFORE)
        assert log.read_text().count(FAILING) == 1, log.read_text()[-2000:]
        assert RECOVERED not in log.read_text()
        (cache / ".filler").unlink()  # room again
        for tile in AFTER:
            _tile(base, *tile)
            assert _stored(cache, *tile), f"{tile} was not cached once there was room"
        _tile(base, *BEFORE[0])
        assert _stored(cache, *BEFORE[0])
        text = log.read_text()
    assert text.count(FAILING) == 1 and text.count(RECOVERED) == 1, text[-2000:]
    assert f"{len(BEFORE) * 2} tiles were served uncached" in text
