"""The errors of an edit that have no counterpart elsewhere (mapped in ``ogc/errors.py``)."""

from __future__ import annotations

from layers.errors import NotFound, OneMapError


class PreconditionFailed(OneMapError):
    """If-Match / If-Unmodified-Since no longer holds (HTTP 412, with the current validators)."""

    def __init__(self, message: str, etag: str, last_modified: str) -> None:
        super().__init__(message)
        self.etag = etag
        self.last_modified = last_modified


class PreconditionRequired(OneMapError):
    """A change of an existing feature sent without If-Match or If-Unmodified-Since (428)."""


class NotEditable(OneMapError):
    """The layer is not open for editing (HTTP 405)."""


class UnsupportedBody(OneMapError):
    """The request body's media type is not one the operation reads (HTTP 415)."""


class FeatureGone(NotFound):
    """The feature existed at other versions, not at the one asked (HTTP 410, with links
    to its latest version and its history as ``Link`` header values)."""

    def __init__(self, message: str, links: str) -> None:
        super().__init__(message)
        self.links = links
