"""HEAD and hidden-vs-unknown comparisons of the access matrix.

Every GET of the matrix is also asked with HEAD: the same status and headers (RFC 9110
§9.3.2), no body. A layer the caller may not see must not exist for them, so its answers —
GET and HEAD — equal the unknown id's (``UNKNOWN`` in its place, same caller, same request
otherwise): the same status and headers, and the same body once the requested id is swapped.
Content-Length may differ only by what echoing the longer or shorter id costs; an ETag or a
length that told a hidden layer from an unknown one would be a leak.
"""

from __future__ import annotations

import httpx

from tests.access.matrix_rules import Case, sees
from tests.access.matrix_world import LAYERS, UNKNOWN, Who

Levels = dict[str, tuple[str, str | None]]
TICKING = "retry-after"  # seconds to the next midnight: counts down between two requests
PER_REQUEST = frozenset({"x-request-id"})  # each answer's own id (ogc.http.request_id)


def header_differences(
    one: httpx.Response,
    other: httpx.Response,
    ignore: frozenset[str] = frozenset(),
    apart_s: float = 1.0,
) -> list[str]:
    """Headers that differ between two answers (each name's values, in order); answers
    asked up to ``apart_s`` seconds apart may differ in Retry-After by that much."""
    names = (set(one.headers.keys()) | set(other.headers.keys())) - ignore - PER_REQUEST
    found = []
    for name in sorted(names):
        mine, theirs = one.headers.get_list(name), other.headers.get_list(name)
        if mine == theirs or (name == TICKING and _close(mine, theirs, apart_s)):
            continue
        found.append(f"{name}: {mine} vs {theirs}")
    return found


def _close(mine: list[str], theirs: list[str], apart_s: float) -> bool:
    if len(mine) != 1 or len(theirs) != 1:
        return False
    return abs(int(mine[0]) - int(theirs[0])) <= int(apart_s) + 1


def head_problems(get: httpx.Response, head: httpx.Response) -> list[str]:
    """A HEAD answer against the GET of the same request by the same caller."""
    found = []
    if head.status_code != get.status_code:
        found.append(f"HEAD status {head.status_code}, GET {get.status_code}")
    if head.content:
        found.append(f"HEAD has a body of {len(head.content)} bytes")
    # A page of items says when it was made (timeStamp): a HEAD a second later may compress
    # to a byte more or less, so its length is compared only for documents without one;
    # /metrics counts the GET itself, so the HEAD after it is longer.
    moving = '"timeStamp"' in get.text or get.text.startswith("# HELP ")
    timed = frozenset({"content-length"}) if moving else frozenset()
    found += [f"HEAD header {d}" for d in header_differences(head, get, timed)]
    return found


def hidden_ids(case: Case, who: Who, levels: Levels) -> list[str]:
    """The matrix layers ``case`` names that ``who`` may not see."""
    return [i for i in case.layers if i in LAYERS and not sees(who, i, levels)]


def unknown_twin(case: Case, hidden: list[str]) -> str:
    """The same request with every hidden layer's id replaced by the unknown one."""
    url = case.url
    for layer_id in hidden:
        url = url.replace(layer_id, UNKNOWN)
    return url


def twin_problems(
    hidden: list[str],
    answers: tuple[httpx.Response, httpx.Response],
    twins: tuple[httpx.Response, httpx.Response],
    apart_s: float,
) -> list[str]:
    """A hidden layer's GET and HEAD answers (``answers``) against the unknown id's
    (``twins``, asked up to ``apart_s`` seconds apart): indistinguishable but for the
    echoed id."""
    (get, head), (twin_get, twin_head) = answers, twins
    found = []
    if get.status_code != twin_get.status_code:
        found.append(f"status {get.status_code}, the unknown id's {twin_get.status_code}")
    body = get.content
    for layer_id in hidden:
        body = body.replace(layer_id.encode(), UNKNOWN.encode())
    if body != twin_get.content:
        found.append(f"body differs from the unknown id's: {get.text[:120]!r}")
    length = frozenset({"content-length"})
    for method, one, other in (("GET", get, twin_get), ("HEAD", head, twin_head)):
        differences = header_differences(one, other, length, apart_s)
        found += [f"{method} header {d} (unknown id)" for d in differences]
    if head.headers.get("content-encoding", "identity") == "identity":
        echoed = sum(get.content.count(i.encode()) * (len(i) - len(UNKNOWN)) for i in hidden)
        lengths = [int(a.headers.get("content-length", "0")) for a in (head, twin_head)]
        if lengths[0] - lengths[1] != echoed:
            found.append(f"HEAD Content-Length {lengths}, the echoed id explains {echoed}")
    return found
