from __future__ import annotations

import pytest

from layers.settings import ServiceSettings

METRICS_TOKEN = "scrape-me-0123456789"


@pytest.fixture(scope="module")
def observed_settings(
    settings: ServiceSettings, tmp_path_factory: pytest.TempPathFactory
) -> ServiceSettings:
    """The session's settings with a metrics token and a tile cache of this module's own."""
    cache = tmp_path_factory.mktemp("observe-tiles")
    return settings.model_copy(update={"tile_cache_dir": cache, "metrics_token": METRICS_TOKEN})
