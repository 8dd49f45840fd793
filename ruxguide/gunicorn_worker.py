"""gunicorn's sync worker, answering a request it cannot even parse with the app's own page.

gunicorn refuses some requests before the app sees them (a control byte in a header value, raw
non-ASCII in the address, a method like `get`, a request line or header over its limits) and answers
with a bare page of its own. nginx passes such requests on, so a patient could see that page; this
worker writes the app's 400 (or 500) page instead, in the address's language. Named by
`worker_class` in ruxguide/deploy/gunicorn.conf.py.
"""

from __future__ import annotations

from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.workers.sync import SyncWorker  # type: ignore[import-untyped]

# nginx adds the rest where it is in front; these make the page safe on its own too.
PAGE_HEADERS = (
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
)


def app_page(status: int, path: str) -> bytes:
    """The app's 400 page for a refused request (500 for gunicorn's own failures), or plain words."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from screening.views.errors import PLAIN_SERVER_ERROR

    template = "500.html" if status >= 500 else "400.html"
    try:
        with translation.override(translation.get_language_from_path(path) or "en"):
            return render_to_string(template).encode()
    except Exception:
        return PLAIN_SERVER_ERROR.encode()


class AppPagesSyncWorker(SyncWorker):  # type: ignore[misc]
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        path = getattr(req, "path", "") or ""

        def write_app_page(sock: Any, status: int, reason: str, message: str) -> None:
            # gunicorn's message repeats the request line, query string included: the page leaves it out.
            body = app_page(status, path)
            head = f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n{PAGE_HEADERS}"
            head += f"Content-Length: {len(body)}\r\n\r\n"
            util.write_nonblock(sock, head.encode("latin-1") + body)

        # gunicorn's handle_error decides the status, logs and writes through util.write_error; one
        # request at a time per sync worker, so swapping the writer for the call is safe.
        write_error = util.write_error
        util.write_error = write_app_page
        try:
            super().handle_error(req, client, addr, exc)
        finally:
            util.write_error = write_error
