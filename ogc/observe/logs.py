"""How the service's log lines look: for people (text) or one JSON object a line (json).

``configure_logging`` is called where a serving process starts (``ogc.server.serve``, and
each worker's app factory). In json mode every record — the request log, slow queries,
uvicorn's own — is one line of JSON with a fixed set of keys, the record's ``extra``
fields among them; uvicorn is then left without its own handlers so its records reach
the same one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The ``extra`` fields a record may carry into its JSON line (request and slow-query logs).
FIELDS = (
    "request_id",
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "caller_kind",
    "caller_subject",
    "layer_id",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(log_format: LogFormat, level: str) -> None:
    """The root logger's handlers in ``log_format``; a process with none (a worker
    process the command line did not set up) gets one to stderr at ``level``."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(level.upper())
    for handler in root.handlers:
        handler.setFormatter(formatter_for(log_format))
