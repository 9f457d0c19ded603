"""The exception types of OGC API – Processes – Part 1: Core, as errors of the one error model.

Each carries the URI the standard gives it (``exception_type``), which ``ogc.errors`` writes
as the problem document's ``type``; the status comes from the base class as usual.
"""

from __future__ import annotations

from layers.errors import InvalidParameter, NotFound, OneMapError

BASE = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"


class NoSuchProcess(NotFound):
    exception_type = BASE + "no-such-process"


class NoSuchJob(NotFound):
    exception_type = BASE + "no-such-job"


class ResultNotReady(NotFound):
    exception_type = BASE + "result-not-ready"


class ResultNotAvailable(NotFound):
    """A finished job without results (dismissed; failed ones answer with their failure)."""

    exception_type = BASE + "result-not-available"


class NoSuchOutput(NotFound):
    exception_type = BASE + "no-such-output"


class InvalidQueryParameter(InvalidParameter):
    # The standard spells this one with https (/req/core/job-results-exception-invalid-...).
    exception_type = "https://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/" + (
        "invalid-query-parameter-value"
    )


class JobFailed(OneMapError):
    """A failed job's results: its failure's status and type (/req/core/job-results-failed)."""

    def __init__(self, message: str, status: int, exception_type: str | None) -> None:
        super().__init__(message)
        self.http_status = status
        self.exception_type = exception_type


MAX_OFFSET = 1_000_000_000


def count_parameter(name: str, text: str | None, default: int, low: int, high: int) -> int:
    """A ``limit``/``offset`` query value: an integer in [low, high], else a 400 naming it."""
    if text is None:
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidQueryParameter(f"{name}: '{text[:40]}' is not an integer") from None
    if not low <= value <= high:
        raise InvalidQueryParameter(f"{name}: {text[:40]} is outside {low}..{high:,}")
    return value
