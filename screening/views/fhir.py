"""The public, read-only FHIR endpoint: the Questionnaire at its canonical address, for form fillers anywhere.

No sign-in and nothing about a patient: the same published content the patient pages are built from.
`/Questionnaire/ruxolitinib-cream` is the live version; `/_history/<version>` any published version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from ruxguide.guard import accepts
from screening.fhir import QUESTIONNAIRE_ID, questionnaire
from screening.models import PublishedRuleSet

FHIR_JSON = "application/fhir+json; charset=utf-8"
# The live version changes when a clinician publishes: a form filler asks again after a minute.
LIVE_MAX_AGE = 60
# A published version never changes (only the deployment's canonical base could, and rarely).
VERSION_MAX_AGE = 24 * 60 * 60
# Version numbers the database can hold (PositiveIntegerField); a longer number is simply unknown.
VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


def route_prefix() -> str:
    """Where the app serves FHIR resources: the path of RUXGUIDE_FHIR_BASE_URL, so the canonical URLs resolve."""
    base = urlsplit(settings.RUXGUIDE_FHIR_BASE_URL).path.strip("/")
    return f"{base}/" if base else ""


@accepts("GET", "HEAD")
def live_questionnaire(request: HttpRequest) -> HttpResponse:
    """The Questionnaire of the version patients answer now."""
    published = PublishedRuleSet.objects.order_by("-version").first()
    if published is None:
        raise Http404("Nothing is published yet.")
    return _questionnaire_response(request, published, max_age=LIVE_MAX_AGE)


@accepts("GET", "HEAD")
def questionnaire_version(request: HttpRequest, version: str) -> HttpResponse:
    """The Questionnaire of one published version (FHIR's `_history/<versionId>`)."""
    if not VERSION_NUMBER.fullmatch(version):
        raise Http404("No such version.")
    published = PublishedRuleSet.objects.filter(version=int(version)).first()
    if published is None:
        raise Http404("No such version.")
    return _questionnaire_response(request, published, max_age=VERSION_MAX_AGE)


def _questionnaire_response(request: HttpRequest, published: PublishedRuleSet, *, max_age: int) -> HttpResponse:
    body, etag = _questionnaire_body(
        published.version, published.published_at.isoformat(), settings.RUXGUIDE_FHIR_BASE_URL
    )
    last_modified = published.published_at.timestamp()
    response = HttpResponse(body, content_type=FHIR_JSON)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # Form fillers on other sites load it from the browser: the resource is public, so any origin may read it.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
    patch_cache_control(response, public=True, max_age=max_age)
    # A 304 when the filler already holds this body.
    conditional = get_conditional_response(request, etag=etag, last_modified=int(last_modified), response=response)
    if conditional is None or conditional is response:
        return response
    # Django's 304 keeps the caching headers; the filler's origin still needs leave to read it.
    conditional["Access-Control-Allow-Origin"] = "*"
    return conditional


@functools.lru_cache(maxsize=32)
def _questionnaire_body(version: int, published_at: str, base_url: str) -> tuple[bytes, str]:
    """One published version's Questionnaire as sent, with its ETag: drawn once per version and address.

    A published version never changes, so a form filler's repeated (or conditional) request costs a
    query, not a new export and hash. The canonical base is part of the key as the resource names it.
    """
    published = PublishedRuleSet.objects.get(version=version)
    resource = questionnaire(
        published.document,
        version=published.version,
        date=published.published_at.date().isoformat(),
        second_review=published.second_review,
    )
    body = json.dumps(resource, ensure_ascii=False, indent=2).encode()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


urlpatterns: list[URLPattern] = [
    path(f"Questionnaire/{QUESTIONNAIRE_ID}", live_questionnaire, name="fhir_questionnaire"),
    path(
        f"Questionnaire/{QUESTIONNAIRE_ID}/_history/<str:version>",
        questionnaire_version,
        name="fhir_questionnaire_version",
    ),
]
