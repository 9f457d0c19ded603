"""Hostile values as they travel in a URL (already percent-encoded), and what no answer may
ever hold: SQL or driver text, a Python traceback, a path of the server's files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout


def _q(text: str) -> str:
    return quote(text, safe="")


BIG = 60_000  # bytes: a value that still fits a client library's URL (the caps test 1 MB)

PAYLOADS: dict[str, str] = {
    "sql-quote": _q("' OR '1'='1"),
    "sql-stacked": _q("1; DROP TABLE layers; --"),
    "sql-sleep": _q("1' AND pg_sleep(5) IS NULL--"),
    "traversal": _q("../../../../etc/passwd"),
    "traversal-encoded": "%2e%2e%2f%2e%2e%5c..%2Fetc%2fpasswd",
    "nul": "ab%00cd",
    "utf8-invalid": "%C3%28%FF%FE",
    "utf8-overlong-surrogate": "%C0%AE%C0%AE%ED%A0%80",
    "control-crlf": "%01%1B%7F%0D%0ASet-Cookie:%20hostile=1",
    "html": _q("<script>alert(1)</script>"),
    "format-string": _q("%s%s%n{0.__class__}"),
    "deep-nesting": "%5B" * 1000 + "%28" * 1000 + _q('{"a":' * 500),
    "huge-number": "9" * 400,
    "oversized": "x" * BIG,
    "oversized-unicode": _q("天\u202e" * 1000),  # 18 kB: CJK and a right-to-left override
}

# Text that no answer may hold: the database's or driver's words, a traceback, code.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "psycopg",
    "syntax error at",
    "SQLSTATE",
    "LINE 1:",
    "pg_catalog",
    "ST_AsMVT",
    "ST_AsGeoJSON",
    "json_agg",
    "site-packages",
    "/usr/lib/python",
    "Internal Server Error",
)


def server_paths(data_dir: Path) -> tuple[str, ...]:
    """Folders of this server: the checkout, the temp folder, the data directory."""
    found = {
        str(REPO_ROOT),
        os.getcwd(),
        tempfile.gettempdir() + "/",
        str(data_dir.resolve()),
        ".onemap/",
    }
    return tuple(sorted(found))


def problems(response: httpx.Response, forbidden: tuple[str, ...]) -> list[str]:
    """What is wrong with one answer to a hostile request (empty: nothing)."""
    found: list[str] = []
    status = response.status_code
    if status >= 500:
        found.append(f"status {status}")
    text = response.content.decode("utf-8", "replace")
    heads = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for marker in (*LEAK_MARKERS, *forbidden):
        if marker in text or marker in heads:
            found.append(f"leaks {marker!r}")
    if "set-cookie" in response.headers or "hostile" in response.headers:
        found.append("a header was injected")
    if response.headers.get("content-type", "").startswith("text/html") and "<script>alert" in text:
        found.append("the value is echoed unescaped into HTML")
    if 400 <= status < 500 and not message_of(response):
        found.append(f"{status} without a message")
    return found


def refusal_problems(response: httpx.Response, forbidden: tuple[str, ...]) -> list[str]:
    """``problems``, and any status but a 4xx: the answer to a value nothing may accept."""
    found = problems(response, forbidden)
    if not 400 <= response.status_code < 500:
        found.append(f"status {response.status_code}")
    return found


def message_of(response: httpx.Response) -> str:
    """The person-readable message of an error answer: a problem document's description,
    a WMTS exception report's text."""
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        try:
            document = response.json()
        except ValueError:
            return ""
        return str(document.get("description") or document.get("detail") or "")
    if "xml" in kind:
        text = response.text
        start = text.find("<ows:ExceptionText>")
        return text[start + 19 : text.find("</ows:ExceptionText>")] if start >= 0 else ""
    return ""
