"""Patient visits for `make lighthouse`: the cookies a patient's browser holds on each audited page.

Walks `make serve` (HTTPS, self-signed certificate) as a patient does: "Start now" for the first
question, and every question answered (bench.MANY_CAUTIONS, so the result page shows many cautions)
for the result page. Prints one JSON object, page path -> Cookie header, for Lighthouse's
--extra-headers.

    python -m tests.system.lighthouse_visit https://127.0.0.1:PORT
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import ssl
import sys
import urllib.request
from urllib.parse import urlencode, urlsplit

from tests.system.bench import MANY_CAUTIONS
from tests.system.loopback import PROJECT

QUESTION = "/check/question/urgent_symptoms/"
RESULT = "/check/result/"


class Patient:
    """A browser that follows redirects and keeps cookies, and trusts `make serve`'s self-signed certificate."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        trusted = ssl.create_default_context(cafile=PROJECT / "var" / "tls" / "cert.pem")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=trusted),
            urllib.request.HTTPCookieProcessor(self.jar),
        )

    def open(self, path: str, form: dict[str, list[str]] | None = None, *, referer: str = "") -> tuple[str, str]:
        """The path the browser ends on and its HTML, after any redirects."""
        data = urlencode(form, doseq=True).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)
        if referer:
            # Django checks the Referer of an HTTPS form post against the site's own origin.
            request.add_header("Referer", self.base + referer)
        with self.opener.open(request, timeout=30) as response:
            return urlsplit(response.geturl()).path, response.read().decode()

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


def started(base: str) -> Patient:
    """On the start page, "Start now" (/check/), which leads to the first question."""
    patient = Patient(base)
    patient.open("/")
    path, _ = patient.open("/check/", referer="/")
    assert path == QUESTION, path
    return patient


def answered_everything(base: str) -> Patient:
    """Started, then every question answered until the check shows its answers (or its result)."""
    patient = started(base)
    path, page = QUESTION, patient.open(QUESTION)[1]
    while path.startswith("/check/question/"):
        question = path.rstrip("/").rsplit("/", 1)[-1]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        form = {question: MANY_CAUTIONS[question], "csrfmiddlewaretoken": [token.group(1)]}
        path, page = patient.open(path, form, referer=path)
    assert path in ("/check/answers/", RESULT), path
    return patient


def main() -> int:
    base = sys.argv[1].rstrip("/")
    visits = {QUESTION: started(base).cookie_header(), RESULT: answered_everything(base).cookie_header()}
    print(json.dumps(visits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
