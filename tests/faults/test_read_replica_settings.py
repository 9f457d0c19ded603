"""``ONEMAP_READ_DATABASE_URL``: several standbys, comma-separated; a bad entry is refused at
start with its position, never its text (it may hold a password)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from layers.settings import ServiceSettings


def test_several_read_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ONEMAP_READ_DATABASE_URL",
        "postgresql://onemap@10.0.0.2:5432/onemap , host=10.0.0.3 port=5433 dbname=onemap",
    )
    assert ServiceSettings().read_database_url == [
        "postgresql://onemap@10.0.0.2:5432/onemap",
        "host=10.0.0.3 port=5433 dbname=onemap",
    ]


def test_unset_means_no_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEMAP_READ_DATABASE_URL", raising=False)
    assert ServiceSettings().read_database_url == []


def test_a_bad_entry_is_named_by_position(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ONEMAP_READ_DATABASE_URL", "postgresql://u:s3cret@h/d?sslmod=1,postgresql://a@h/db"
    )
    with pytest.raises(ValidationError) as error:
        ServiceSettings()
    assert "entry 1 is not a PostgreSQL URL" in str(error.value)
    assert "s3cret" not in str(error.value)
