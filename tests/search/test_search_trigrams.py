"""pg_trgm and Chinese on real PostgreSQL: trigrams are extracted from CJK text in a
C.UTF-8 database (the embedded cluster's initdb locale) and not in a C one, and
search answers right under both — substrings from the trigram index where it can serve
them, prefixes only on a large layer where it cannot (one or two characters, or CJK text
without trigrams) — and the same from the search table as from the version table."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from layers.migrate import migrate
from layers.search.tiers import SCAN_ROWS
from tests.search.helpers import build, explain, layer_in, publish_names, search, target

ROWS = SCAN_ROWS + 10_000  # a layer too large to scan for a short query
LAYER, TABLE = "search-large", "search_large_v1"


def _database(server_url: str, ctype: str) -> Iterator[str]:
    """A migrated database of its own whose LC_CTYPE is ``ctype``, with the large layer."""
    tag = ctype.replace(".", "").replace("-", "").lower()
    name = f"onemap_search_{tag}_{os.getpid()}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_CTYPE {} LC_COLLATE {}"
            ).format(sql.Identifier(name), sql.Literal(ctype), sql.Literal(ctype))
        )
    url = make_conninfo(**(conninfo_to_dict(server_url) | {"dbname": name}))  # type: ignore[arg-type]
    try:
        migrate(url)
        publish_names(url, LAYER, TABLE, ROWS)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(drop)


@pytest.fixture(scope="module")
def large_url(database_url: str) -> Iterator[str]:
    """C.UTF-8, as the embedded cluster's ``initdb --locale=C.UTF-8`` makes."""
    yield from _database(database_url, "C.UTF-8")


@pytest.fixture(scope="module")
def c_locale_url(database_url: str) -> Iterator[str]:
    """C, as ``initdb --no-locale`` makes (the embedded cluster where C.UTF-8 is missing)."""
    yield from _database(database_url, "C")


def _trigrams(url: str, text: str) -> list[str]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT show_trgm(%s)", (text,)).fetchone()
    assert row is not None
    return list(row[0])


def test_cjk_trigrams_are_extracted_under_c_utf8(large_url: str) -> None:
    with psycopg.connect(large_url) as conn:
        row = conn.execute("SELECT datctype FROM pg_database WHERE datname = current_database()")
        ctype = row.fetchone()
    assert ctype is not None and ctype[0] == "C.UTF-8"
    assert len(_trigrams(large_url, "天河区")) == 4  # "  天", " 天河", "天河区", "河区 "


def test_no_cjk_trigrams_under_the_c_locale(c_locale_url: str) -> None:
    assert _trigrams(c_locale_url, "天河区") == []
    assert _trigrams(c_locale_url, "abc") != []  # ASCII still is


def test_a_substring_is_found_through_the_trigram_index(large_url: str) -> None:
    layer = layer_in(large_url, LAYER)
    table = build(large_url, layer)
    assert "Bitmap Index Scan" in explain(large_url, table, "%1234天河花园%")
    names = [h.name for h in search(large_url, [target(layer, table)], q="1234天河花园")]
    assert names[:2] == ["东风1234天河花园", "东风31234天河花园"]  # substrings, shorter first


def test_short_queries_on_a_large_layer_match_prefixes(large_url: str) -> None:
    layer = layer_in(large_url, LAYER)
    hits = search(large_url, [target(layer, build(large_url, layer))], q="天河", limit=50)
    assert len(hits) == 50
    assert all(h.name.startswith("天河") for h in hits)  # 东风…天河花园 is a substring: left out


def test_the_search_table_answers_as_the_version_table(large_url: str) -> None:
    layer = layer_in(large_url, LAYER)
    table = build(large_url, layer)
    for q in ("天河路30号", "天河路3", "123天河花园", "1234天河花园", "白云77站", "x白云77站"):
        indexed = search(large_url, [target(layer, table)], q=q, limit=20)
        direct = search(large_url, [target(layer, None)], q=q, limit=20)
        assert [(h.fid, h.name) for h in indexed] == [(h.fid, h.name) for h in direct], q
        assert indexed, f"{q}: nothing found"


def test_without_cjk_trigrams_a_large_layer_matches_prefixes_only(c_locale_url: str) -> None:
    layer = layer_in(c_locale_url, LAYER)
    table = build(c_locale_url, layer)
    assert search(c_locale_url, [target(layer, table)], q="1234天河花园") == []
    hits = search(c_locale_url, [target(layer, table)], q="天河路123")
    assert hits and all(h.name.startswith("天河路123") for h in hits)
    assert hits[0].name == "天河路123号"  # the shortest first
