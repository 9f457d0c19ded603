"""A small OneMap client for analysts: OGC API – Features in, OGC API – Processes out.

Only the standard library's HTTP client (no web framework). It lives beside the notebooks,
not in ``spatial``: the analyses stay free of HTTP, and an analyst needs a URL (and, to
publish, a token), never database credentials.

    frame = read_collection(base, "gd-counties", bbox=(113, 22.5, 114, 23.5))
    nearest = execute(base, "nearest-facilities", {"location": [113.26, 23.13]}).features("nearest")
    job = submit(base, "service-area", {...}, publish={...}, token=token)  # respond-async
    wait_for_job(base, job, token=token); areas = job_results(base, job, token=token)

Features: ``bbox``, ``filter`` (CQL2), ``datetime`` and ``crs`` go to the server; pages are
followed through their ``next`` links. A published result layer appears in the catalog a
moment after its job (``wait_for_layer``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, Unpack

import geopandas as gpd
from pyproj import CRS

from layers.platform import CRS84_URI, STORAGE_SRID

CRS84 = CRS84_URI
PAGE_SIZE = 1000
RUNNING = ("accepted", "running")
T = TypeVar("T")


class OneMapHTTPError(RuntimeError):
    """A 4xx/5xx answer, with the server's own explanation (its problem ``detail``)."""

    def __init__(self, status: int, url: str, detail: str) -> None:
        super().__init__(f"{status} from {url}: {detail}")
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    """A response: its status, headers (names in lower case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    *,
    payload: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> Answer:
    """One HTTP exchange; an error status raises ``OneMapHTTPError`` naming the server's reason."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, got {url!r}")
    sent = {"Accept": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None if payload is None else json.dumps(payload).encode()
    if data is not None:
        sent["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=sent, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            headers = {name.lower(): value for name, value in response.headers.items()}
            return Answer(response.status, headers, response.read())
    except urllib.error.HTTPError as exc:
        raise OneMapHTTPError(exc.code, url, _problem_detail(exc.read())) from None


def _problem_detail(body: bytes) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        return body[:300].decode(errors="replace")
    return str(problem.get("detail") or problem.get("description") or problem)


def items_url(
    base_url: str,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    filter: str | None = None,
    filter_lang: str = "cql2-text",
    crs: str | None = None,
    datetime: str | None = None,
    limit: int = PAGE_SIZE,
) -> str:
    params: dict[str, Any] = {"limit": limit, "f": "json"}
    if bbox is not None:
        params["bbox"] = ",".join(str(v) for v in bbox)
    if filter is not None:
        params["filter"] = filter
        params["filter-lang"] = filter_lang
    if crs is not None:
        params["crs"] = crs
    if datetime is not None:
        params["datetime"] = datetime
    quoted = urllib.parse.quote(collection, safe="")
    return f"{base_url.rstrip('/')}/collections/{quoted}/items?{urllib.parse.urlencode(params)}"


def _next(document: dict[str, Any]) -> str | None:
    return next((lk["href"] for lk in document.get("links", []) if lk.get("rel") == "next"), None)


def read_collection(
    base_url: str,
    collection: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    filter: str | None = None,
    filter_lang: str = "cql2-text",
    crs: str | None = None,
    datetime: str | None = None,
    max_features: int | None = None,
    token: str | None = None,
    timeout: float = 60.0,
) -> gpd.GeoDataFrame:
    """Every feature of ``collection`` matching ``bbox``/``filter``/``datetime``, in ``crs``
    (default CRS84)."""
    url: str | None = items_url(
        base_url,
        collection,
        bbox=bbox,
        filter=filter,
        filter_lang=filter_lang,
        crs=crs,
        datetime=datetime,
    )
    features: list[dict[str, Any]] = []
    content_crs = None
    geojson = {"Accept": "application/geo+json"}
    while url and (max_features is None or len(features) < max_features):
        answer = request("GET", url, token=token, headers=geojson, timeout=timeout)
        document, content_crs = answer.json(), answer.headers.get("content-crs")
        features.extend(document.get("features", []))
        url = _next(document)
    if max_features is not None:
        features = features[:max_features]
    frame_crs = CRS.from_user_input(_crs_of(content_crs or f"<{crs or CRS84}>"))
    return _frame(features, frame_crs)


def _frame(features: list[dict[str, Any]], crs: Any) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(features, crs=crs)
    if features and "id" in features[0] and "id" not in frame.columns:
        frame.insert(0, "id", [f.get("id") for f in features])
    return frame


def _crs_of(header: str) -> str:
    uri = header.strip().strip("<>")
    if uri == CRS84:
        return "OGC:CRS84"
    if "/def/crs/EPSG/0/" in uri:
        return "EPSG:" + uri.rsplit("/", 1)[-1]
    return uri


@dataclass(frozen=True)
class Results:
    """A finished job's results document: features inline, values inline, rasters by link."""

    job_id: str
    document: dict[str, Any]
    token: str | None = None

    def features(self, output: str) -> gpd.GeoDataFrame:
        """A features output (GeoJSON in CGCS2000 lon/lat, EPSG:4490)."""
        return _frame(self.document[output].get("features", []), STORAGE_SRID)

    def value(self, output: str) -> Any:
        return self.document[output]

    def raster(self, output: str) -> bytes:
        """A raster output's GeoTIFF bytes (fetched from its link)."""
        return request("GET", self.document[output]["href"], token=self.token).body


class ExecutionOptions(TypedDict, total=False):
    """What ``execute`` and ``submit`` take besides the inputs."""

    outputs: list[str]  # the outputs wanted (default: all)
    publish: dict[str, Any]  # {collection, output, title}: keep an output as a layer
    token: str  # a publisher's token (publishing needs one; jobs are their submitter's)
    timeout: float  # seconds for the HTTP exchange


def _post_execution(
    base_url: str,
    process: str,
    inputs: dict[str, Any],
    options: ExecutionOptions,
    asynchronous: bool,
) -> Answer:
    body: dict[str, Any] = {"inputs": inputs, "response": "document"}
    if options.get("outputs"):
        body["outputs"] = {name: {} for name in options["outputs"]}
    if "publish" in options:
        body["publish"] = options["publish"]
    url = f"{base_url.rstrip('/')}/processes/{urllib.parse.quote(process, safe='')}/execution"
    return request(
        "POST",
        url,
        payload=body,
        token=options.get("token"),
        headers={"Prefer": "respond-async"} if asynchronous else None,
        timeout=options.get("timeout", 120.0),
    )


def execute(
    base_url: str, process: str, inputs: dict[str, Any], **options: Unpack[ExecutionOptions]
) -> Results:
    """Run ``process`` synchronously and return its results."""
    answer = _post_execution(base_url, process, inputs, options, asynchronous=False)
    return Results(answer.headers.get("x-onemap-job", ""), answer.json(), options.get("token"))


def submit(
    base_url: str, process: str, inputs: dict[str, Any], **options: Unpack[ExecutionOptions]
) -> str:
    """Submit ``process`` as an asynchronous job (``Prefer: respond-async``); its job id."""
    answer = _post_execution(base_url, process, inputs, options, asynchronous=True)
    return str(answer.json()["jobID"])


def poll(check: Callable[[], T | None], what: str, timeout: float, interval: float) -> T:
    """``check()`` until it returns something other than None, for at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(interval)
    return found


def wait_for_job(
    base_url: str, job_id: str, *, token: str | None = None, timeout: float = 120.0
) -> dict[str, Any]:
    """The job's status once it has finished; a failed or dismissed job raises, with its message."""

    url = f"{base_url.rstrip('/')}/jobs/{job_id}"

    def finished() -> dict[str, Any] | None:
        status: dict[str, Any] = request("GET", url, token=token).json()
        return None if status["status"] in RUNNING else status

    status = poll(finished, f"job {job_id} had not finished", timeout, 0.2)
    if status["status"] != "successful":
        raise RuntimeError(f"job {job_id} {status['status']}: {status.get('message')}")
    return status


def job_results(base_url: str, job_id: str, *, token: str | None = None) -> Results:
    document = request("GET", f"{base_url.rstrip('/')}/jobs/{job_id}/results", token=token).json()
    return Results(job_id, document, token)


def wait_for_layer(
    base_url: str, collection: str, *, token: str | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """The collection's description once the catalog serves it (a published result appears
    a moment after its job: the server learns of new layers through the database)."""
    url = f"{base_url.rstrip('/')}/collections/{urllib.parse.quote(collection, safe='')}"

    def served() -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = request("GET", url, token=token).json()
        except OneMapHTTPError as exc:
            if exc.status != 404:
                raise
            return None
        return found

    return poll(served, f"{collection} was not in the catalog", timeout, 0.2)
