"""Refuse, with the app's own page and the security headers of any page, requests it will not read.

Django reads a request's charset and query string while building the request object, before any
middleware runs: a charset that names a codec but not a text encoding (rot13, base64, …), a query
string with more fields than allowed beside a charset, or a Content-Type it cannot split into a type
and parameters makes it fail there with a 500. The WSGI entry point takes the Content-Type out of such
a request and notes why, so Django can build it; the middleware, which runs after the security
headers' middleware, then answers with the 400 page. The middleware also refuses, before anything
reads the body: a form in a charset Django refuses (400), a body over the size limit (413), one of
unstated size (411), and a method the page does not take (405, before the CSRF check could say 403).
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import NoReverseMatch, get_callable, reverse
from django.utils import translation
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

# Set by the WSGI entry point on every request: why it cannot be read ("" when it can). No client can
# set it: a header arrives as HTTP_*, never under this name.
PROBLEM_KEY = "ruxguide.request_problem"
# Where `accepts` records the methods a view takes; functools.wraps carries it to every wrapper.
ALLOWED_METHODS = "ruxguide_allowed_methods"
FORM = "application/x-www-form-urlencoded"
IMPORT_PAGE = "admin:screening_publishedruleset_import"


def require_secret_key() -> None:
    """An app server must not start without a secret key: say so at start-up, in plain words."""
    if not settings.HAS_SECRET_KEY:
        raise ImproperlyConfigured(settings.MISSING_SECRET_KEY)


# ---------------------------------------------------------------------------------------------
# What makes a request unreadable
# ---------------------------------------------------------------------------------------------


def request_problem(environ: Mapping[str, Any]) -> str:
    """Why Django could not read this request, or an empty string when it can."""
    try:
        kind, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
    except ValueError:
        return "The Content-Type cannot be read."
    charset = params.get("charset")
    if charset is not None and not readable_charset(charset):
        return f"The charset {charset!r} is not a text encoding."
    if charset is not None and kind == FORM and refused_form_charset(charset):
        return f"A form is sent in UTF-8, not {charset!r}."
    query = environ.get("QUERY_STRING", "")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if query and limit is not None and query.count("&") + 1 > limit:
        return "The address has too many fields."
    return ""


def readable_charset(charset: str) -> bool:
    """False for a name Django would take as the request's charset but cannot decode text with."""
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        return True  # Django ignores a name it does not know
    except ValueError:
        return False  # a NUL in the name: Django's own lookup fails the same way, uncaught
    if not getattr(codec, "_is_text_encoding", True):
        return False
    try:
        b"a".decode(codec.name, "replace")
    except (UnicodeError, LookupError):
        return False
    return True


def refused_form_charset(charset: str) -> bool:
    """Django's own test (HttpRequest._load_post_and_files): a form body in any charset it knows but
    "utf-8" is refused with BadRequest, without marking the body as read, so every later look at
    request.POST (the CSRF check, then the error page's own) fails again."""
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return charset.lower() != "utf-8"


def body_refusal(request: HttpRequest) -> int:
    """413 for a body over the limit, 411 for one of unstated size, 0 for a body the app may read."""
    stated = request.META.get("CONTENT_LENGTH")
    if not stated:
        # Django reads no body without a length, so a chunked one would be silently taken as empty.
        return 411 if request.META.get("HTTP_TRANSFER_ENCODING") else 0
    try:
        length = int(stated)
    except ValueError:
        return 0  # Django reads nothing then either
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or length <= limit:
        return 0
    # Django's own limit leaves files out, so only this keeps a big upload from being read (and
    # written to disk) by any page; only the import page takes a file, up to its own limit.
    if length <= settings.RUXGUIDE_MAX_IMPORT_BODY_BYTES and request.path == import_page():
        return 0
    return 413


def import_page() -> str:
    """The admin's import page, or "" where the admin is not served (a URLconf of its own)."""
    try:
        return reverse(IMPORT_PAGE)
    except NoReverseMatch:
        return ""


# ---------------------------------------------------------------------------------------------
# The WSGI entry point
# ---------------------------------------------------------------------------------------------


def guard_wsgi(application: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap the WSGI application so that Django can build every request, and note why it may not read one."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        problem = request_problem(environ)
        # Noted even when empty, so the middleware need not ask again.
        environ[PROBLEM_KEY] = problem
        if problem:
            # The middleware refuses the request unread, so nothing needs its type; without it Django
            # can build the request, and the refusal gets the same headers as every other page.
            environ["CONTENT_TYPE"] = ""
        return application(environ, start_response)

    return guarded


# ---------------------------------------------------------------------------------------------
# The methods a page takes
# ---------------------------------------------------------------------------------------------


def accepts[View: Callable[..., HttpResponse]](*methods: str) -> Callable[[View], View]:
    """Only these methods reach the view; any other gets the 405 page with an Allow header.

    The middleware answers first, before the CSRF check would refuse a PUT or DELETE with a 403;
    Django's own check stays for the view called without it.
    """

    def decorate(view: View) -> View:
        checked = require_http_methods(list(methods))(view)
        checked.__dict__[ALLOWED_METHODS] = tuple(methods)
        return checked

    return decorate


def from_this_site_only[View: Callable[..., HttpResponse]](view: View) -> View:
    """A form without a CSRF token: a post from another site is refused by what the browser says of it.

    For a form whose only effect is a preference (the language switch), so the pages that carry it
    and no other form (start, education, check your answers, the printout) hold nothing per patient
    and are sent as kept.
    The check is the one Go's net/http CrossOriginProtection makes: a browser says where a post
    comes from with Sec-Fetch-Site (every current browser) or else Origin (every browser since
    2020); the post is refused with the CSRF failure page unless that is this site, or an origin in
    CSRF_TRUSTED_ORIGINS. A request with neither header does not come from a browser, so no other
    site can have made a patient's browser send it.
    """

    @csrf_exempt
    @functools.wraps(view)
    def checked(request: HttpRequest, /, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE") or posted_from_this_site(request):
            return view(request, *args, **kwargs)
        refuse: Callable[..., HttpResponse] = get_callable(settings.CSRF_FAILURE_VIEW)
        return refuse(request, reason="The form was sent from another site.")

    return checked  # type: ignore[return-value]  # the same signature as `view`


def posted_from_this_site(request: HttpRequest) -> bool:
    """Whether the browser says this request comes from one of this site's own pages (see from_this_site_only)."""
    origin: str | None = request.META.get("HTTP_ORIGIN")
    if origin is not None and origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    fetched_from: str | None = request.META.get("HTTP_SEC_FETCH_SITE")
    if fetched_from is not None:
        return fetched_from in ("same-origin", "none")
    if origin is None:
        return True
    return origin == f"{request.scheme}://{request.get_host()}"


def allowed_methods(view: Callable[..., Any]) -> Sequence[str] | None:
    """The methods a view takes, or None when it does not say."""
    recorded: Sequence[str] | None = getattr(view, ALLOWED_METHODS, None)
    if recorded is not None:
        return recorded
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return None
    names = [name for name in view_class.http_method_names if hasattr(view_class, name)]
    if "get" in names and "head" not in names:
        names.append("head")  # View.setup answers HEAD with get
    return [name.upper() for name in names]


# ---------------------------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------------------------


def language_of(request: HttpRequest) -> str:
    """The language of the page asked for: its address says so, as the patient pages' middleware reads it."""
    return translation.get_language_from_path(request.path_info) or settings.LANGUAGE_CODE


def leave_body_unread(request: HttpRequest) -> None:
    """From here on, request.POST is empty and the body is never read.

    Django's exception handler does the same after RequestDataTooBig, for the same reason: a body that
    is refused, or that raised when read, must not be read (and raise) again by anything that runs
    after, on the way in or out.
    """
    request._mark_post_parse_error()  # type: ignore[attr-defined]  # not in django-stubs


def error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    """The app's own page for a request it refuses or cannot answer, in the language of the address."""
    leave_body_unread(request)
    # The page's language switch is a form, so its token needs the CSRF cookie, which the CSRF
    # middleware sets only on a response that passes back through it. Unlike Django's own error pages,
    # this does not run the CSRF check: it reads the body and asks for the host, and either may be
    # what was wrong with the request.
    csrf = CsrfViewMiddleware(lambda _: HttpResponse())
    csrf.process_request(request)
    with translation.override(language_of(request)):
        response = render(request, template, status=status)
    csrf.process_response(request, response)
    return response


class PatientErrorsMiddleware:
    """Refuse, unread and in words, a request the app will not read or a method the page does not take."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        status = body_refusal(request)
        if status:
            return error_page(request, "413.html" if status == 413 else "400.html", status)
        # Asked by the WSGI entry point already, unless the request came another way (tests, ASGI).
        problem = request.META[PROBLEM_KEY] if PROBLEM_KEY in request.META else request_problem(request.META)
        if problem:
            return error_page(request, "400.html", 400)
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            # A view of Django's own (the admin's) refused the method without a word.
            allowed = response.get("Allow", "")
            response = error_page(request, "405.html", 405)
            response["Allow"] = allowed
        return response

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        view_args: Sequence[Any],
        view_kwargs: Mapping[str, Any],
    ) -> HttpResponse | None:
        allowed = allowed_methods(view)
        if allowed is None or request.method in allowed:
            return None
        response = error_page(request, "405.html", 405)
        response["Allow"] = ", ".join(allowed)
        return response
