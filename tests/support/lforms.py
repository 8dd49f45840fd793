"""LHC-Forms (npm `lforms`, installed by .ci/lforms into var/lforms) served from loopback for browser tests.

A small page that loads the LHC-Forms web component and its FHIR support, as its README says, is
written into a temporary folder beside a link to the package's built files; a `http.server` thread
serves that folder on 127.0.0.1. Nothing comes from a CDN.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.conf import settings

LFORMS_VERSION = "40.1.3"  # the version .ci/lforms installs
PACKAGE = Path(settings.BASE_DIR) / "var" / "lforms" / "node_modules" / "lforms"
BUILT = PACKAGE / "dist" / "lforms"
MISSING = "LHC-Forms is not installed: run .ci/lforms (make lforms), which installs npm lforms into var/lforms"

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LHC-Forms</title>
<link rel="stylesheet" href="lforms/webcomponent/styles.css">
<script src="lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="lforms/webcomponent/runtime.js" type="module"></script>
<script src="lforms/webcomponent/polyfills.js" type="module"></script>
<script src="lforms/webcomponent/main.js" type="module"></script>
<script src="lforms/fhir/R4/lformsFHIR.min.js" defer></script>
</head>
<body>
<div id="form"></div>
</body>
</html>
"""


def installed_version() -> str | None:
    """The lforms version in var/lforms, or None when it is not installed."""
    try:
        manifest: dict[str, Any] = json.loads((PACKAGE / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) and (BUILT / "webcomponent" / "main.js").exists() else None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # The test's output stays the test's; a missing file shows as a failed load in the browser.
        pass


@contextmanager
def lforms_host(folder: Path) -> Iterator[str]:
    """Serve the host page and the lforms files from `folder` on loopback; yields the page's address."""
    (folder / "index.html").write_text(HOST_PAGE)
    (folder / "lforms").symlink_to(BUILT, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
