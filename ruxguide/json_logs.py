"""Log records as one JSON object per line, with only the fields we choose to keep."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Only these extra attributes are ever written; anything else a library attaches to a record
# (Django attaches the whole request to its error records) is left out.
KEPT_FIELDS = ("method", "path", "status", "duration_ms", "htmx", "status_code")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in KEPT_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        # A request Django refuses (a Host not allowed, a bad CSRF token) is the client's doing: its
        # traceback says nothing, and would let anyone fill the log at a kilobyte a request.
        if record.exc_info and not record.name.startswith("django.security."):
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
