"""Domain errors raised by every lower package.

Only ``ogc/errors.py`` knows how these become HTTP responses; the CLI prints
their message. Each message should tell a person what to change.
"""

from __future__ import annotations

from typing import Literal

Credential = Literal["bearer", "key"]  # what a request presented: a bearer token or an API key


class OneMapError(Exception):
    """Base class of every error OneMap raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(OneMapError):
    """A request or command parameter is malformed or out of range (HTTP 400)."""


class NotFound(OneMapError):
    """A layer, feature, job or other named resource does not exist (HTTP 404)."""


class Conflict(OneMapError):
    """The request clashes with the current state, e.g. a layer id taken (HTTP 409)."""


class PayloadTooLarge(OneMapError):
    """The request asks for or sends more than the configured limits (HTTP 413)."""


class UriTooLong(OneMapError):
    """The request's path and query are longer than the server reads (HTTP 414)."""


class HeadersTooLarge(OneMapError):
    """The request's header fields together are larger than the server reads (HTTP 431)."""


class IngestError(OneMapError):
    """A source file cannot be read or published as it is (HTTP 422 / CLI exit 2)."""


class Unavailable(OneMapError):
    """The service cannot answer this now but will soon (HTTP 503 with ``Retry-After``:
    the seconds a client should wait before asking again)."""

    retry_after_s = 2

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


class DatabaseUnavailable(Unavailable):
    """PostgreSQL/PostGIS cannot be reached, is restarting, cut a query by the statement
    timeout, or lacks PostGIS (HTTP 503)."""


class Overloaded(Unavailable):
    """This worker already runs as many heavy requests as it admits and its short queue is
    full or waited too long (HTTP 503): shed fast rather than queue without bound."""

    retry_after_s = 1


class EmbeddedClusterError(OneMapError):
    """The embedded PostGIS cluster could not be initialised or started."""


class Forbidden(OneMapError):
    """The caller may not do this (HTTP 403)."""


class QuotaExceeded(OneMapError):
    """A key used up its daily quota of a service (HTTP 429 with ``Retry-After``: the
    seconds until the quota resets)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(QuotaExceeded):
    """A caller made more requests than its rate limit allows in the current window
    (HTTP 429 with ``Retry-After`` — the seconds until the window ends — and the
    ``RateLimit-*`` fields of the IETF draft)."""

    def __init__(self, message: str, retry_after_s: int, limit: int, window_s: int) -> None:
        super().__init__(message, retry_after_s)
        self.limit, self.window_s = limit, window_s


class AuthenticationFailed(OneMapError):
    """A presented credential — a bearer token or an API key — is not valid: malformed,
    unknown, revoked, expired, wrongly signed (HTTP 401 with a ``WWW-Authenticate``
    challenge of the credential's scheme). A request presenting one is refused, never
    treated as anonymous.

    ``reason`` says what is wrong in words safe to show the caller: it never quotes the
    credential. ``credential`` is the kind presented; it picks the challenge.
    """

    def __init__(self, reason: str, credential: Credential = "bearer") -> None:
        # A key's reasons name the key ("unknown API key"); a token's need the subject.
        super().__init__(f"invalid bearer token: {reason}" if credential == "bearer" else reason)
        self.reason = reason
        self.credential: Credential = credential


class CredentialRequired(OneMapError):
    """The resource needs a credential and the request presented none (HTTP 401 with a
    bare ``WWW-Authenticate: Bearer realm="onemap"``: no error code, RFC 6750 §3.1)."""
