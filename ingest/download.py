"""A source given as a path or an http(s) URL, as a local file (a bounded download)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from layers.errors import IngestError
from layers.settings import IngestSettings


@contextmanager
def local_copy(source: str, settings: IngestSettings | None = None) -> Iterator[Path]:
    """The file itself, or a download of an http(s) URL (at most ONEMAP_MAX_UPLOAD_MB)."""
    if not source.startswith(("http://", "https://")):
        yield Path(source)
        return
    import httpx  # only downloads need it

    from ingest.workdirs import work_dir

    settings = settings or IngestSettings()
    name = source.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or "download"
    with work_dir(settings.upload_dir, "download") as folder:
        target = folder / name
        try:
            with httpx.stream("GET", source, follow_redirects=True, timeout=60) as response:
                response.raise_for_status()
                _download(response, target, settings.max_upload_mb, source)
        except httpx.HTTPError as exc:
            raise IngestError(f"{source}: download failed ({exc})") from exc
        yield target


def _download(response: Any, target: Path, max_mb: int, source: str) -> None:
    """Write the body to ``target``, stopping at the first byte over ``max_mb``."""
    limit, written = max_mb * 1024 * 1024, 0
    declared = response.headers.get("content-length", "")
    too_large = IngestError(f"{source} is larger than {max_mb} MB (ONEMAP_MAX_UPLOAD_MB)")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    with target.open("wb") as out:
        for chunk in response.iter_bytes(1 << 20):
            written += len(chunk)
            if written > limit:
                raise too_large
            out.write(chunk)
