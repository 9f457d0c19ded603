"""Part 4 optimistic locking with ETags and with timestamps, and two editors racing."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

from fastapi.testclient import TestClient

from tests.access.ownership_fixtures import as_
from tests.edit.conftest import feature, write_headers
from tests.edit.test_create_replace_delete import create

STRONG = re.compile(r'^"[^"]+"$')


def test_every_feature_has_a_strong_etag_and_last_modified(editing: TestClient) -> None:
    url = create(editing)
    answer = editing.get(url)
    assert STRONG.match(answer.headers["ETag"]), answer.headers["ETag"]
    parsedate_to_datetime(answer.headers["Last-Modified"])
    again = editing.get(url, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_if_match_that_no_longer_holds_is_412_with_the_current_etag(editing: TestClient) -> None:
    url = create(editing, feature("locked"))
    etag = editing.get(url).headers["ETag"]
    stale = editing.put(url, json=feature("lost"), headers=write_headers(**{"If-Match": '"0"'}))
    assert stale.status_code == 412
    assert stale.headers["ETag"] == etag
    assert editing.get(url).json()["properties"]["name"] == "locked"
    fresh = editing.put(url, json=feature("kept"), headers=write_headers(**{"If-Match": etag}))
    assert fresh.status_code == 204
    assert fresh.headers["ETag"] != etag
    assert editing.get(url).headers["ETag"] == fresh.headers["ETag"]
    weak = editing.put(
        url,
        json=feature("weak"),
        headers=write_headers(**{"If-Match": f"W/{fresh.headers['ETag']}"}),
    )
    assert weak.status_code == 412  # If-Match compares strongly


def test_a_change_without_a_precondition_is_428(editing: TestClient) -> None:
    url = create(editing)
    assert editing.put(url, json=feature(), headers=write_headers()).status_code == 428
    patch = as_("alice") | {"Content-Type": "application/merge-patch+json"}
    assert editing.patch(url, content=b"{}", headers=patch).status_code == 428
    answer = editing.delete(url, headers=as_("alice"))
    assert answer.status_code == 428
    assert "If-Match" in answer.json()["detail"]


def test_if_unmodified_since_before_the_last_change_is_412(editing: TestClient) -> None:
    url = create(editing, feature("dated"))
    modified = parsedate_to_datetime(editing.get(url).headers["Last-Modified"])
    earlier = format_datetime(modified - timedelta(days=1), usegmt=True)
    stale = editing.put(
        url, json=feature("lost"), headers=write_headers(**{"If-Unmodified-Since": earlier})
    )
    assert stale.status_code == 412
    assert editing.get(url).json()["properties"]["name"] == "dated"
    exact = format_datetime(modified, usegmt=True)
    fresh = editing.put(
        url, json=feature("kept"), headers=write_headers(**{"If-Unmodified-Since": exact})
    )
    assert fresh.status_code == 204, fresh.text
    later = parsedate_to_datetime(fresh.headers["Last-Modified"])
    assert later > modified  # whole seconds, strictly later: the old date no longer holds
    unreadable = write_headers(**{"If-Unmodified-Since": "yesterday"})
    refused = editing.put(url, json=feature("lost"), headers=unreadable)
    assert refused.status_code == 400 and "HTTP-date" in refused.json()["detail"]
    again = editing.put(
        url, json=feature("lost"), headers=write_headers(**{"If-Unmodified-Since": exact})
    )
    assert again.status_code == 412


def test_delete_is_conditional_too(editing: TestClient) -> None:
    url = create(editing)
    answer = editing.get(url)
    earlier = format_datetime(
        parsedate_to_datetime(answer.headers["Last-Modified"]) - timedelta(days=1), usegmt=True
    )
    assert (
        editing.delete(url, headers=as_("alice") | {"If-Unmodified-Since": earlier}).status_code
        == 412
    )
    assert editing.delete(url, headers=as_("alice") | {"If-Match": '"0"'}).status_code == 412
    assert editing.get(url).status_code == 200
    assert (
        editing.delete(url, headers=as_("alice") | {"If-Match": answer.headers["ETag"]}).status_code
        == 204
    )


def test_editing_one_feature_leaves_another_features_etag(editing: TestClient) -> None:
    one, other = create(editing), create(editing)
    other_etag = editing.get(other).headers["ETag"]
    edited = editing.put(
        one,
        json=feature("edited"),
        headers=write_headers(**{"If-Match": editing.get(one).headers["ETag"]}),
    )
    assert edited.status_code == 204
    assert editing.get(other).headers["ETag"] == other_etag


def test_two_editors_racing_with_the_same_etag_exactly_one_wins(editing: TestClient) -> None:
    url = create(editing, feature("raced"))
    etag = editing.get(url).headers["ETag"]
    start = threading.Barrier(2)

    def edit(name: str) -> int:
        start.wait()
        headers = write_headers(**{"If-Match": etag})
        return editing.put(url, json=feature(name), headers=headers).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(edit, ["editor one", "editor two"]))
    assert statuses == [204, 412]
    assert editing.get(url).json()["properties"]["name"] in {"editor one", "editor two"}
