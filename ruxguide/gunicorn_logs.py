"""Gunicorn's own log lines (access and errors) as the same JSON lines Django writes.

Named by `logger_class` in ruxguide/deploy/gunicorn.conf.py. Gunicorn's default access line holds the
client's address, the full request line with its query string, the referrer and the user agent; ours
holds what Django's request line holds and nothing more: method, path, status and time.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from ruxguide.json_logs import JsonFormatter

# gunicorn's error lines quote the request line ("Invalid request from ip=…: … 'GET /a?b HTTP/1.1'",
# "Error handling request GET /a?b"): the query string and the address are left out.
QUERY_STRING = re.compile(r"\?[^\s'\"]*")
CLIENT_ADDRESS = re.compile(r" from ip=[^:]*")


class WithoutQueriesOrAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = CLIENT_ADDRESS.sub("", QUERY_STRING.sub("", message))
        record.args = ()
        return True


class JsonLinesLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())
        for handler in self.error_log.handlers:
            handler.addFilter(WithoutQueriesOrAddresses())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if self.cfg.accesslog is None:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        self.access_log.log(
            logging.INFO,
            "request",
            extra={
                "method": environ.get("REQUEST_METHOD", ""),
                "path": environ.get("PATH_INFO", ""),
                "status": int(status) if str(status).isdigit() else status,
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
            },
        )
