"""The app's pages for 400, 403, 404 and 500 (handler400 and the rest in ruxguide/urls.py).

Django's own handlers run the CSRF check again (they are @requires_csrf_token), and the CSRF check of
a POST reads request.POST. A body Django refuses to read (a form in a charset other than UTF-8) raises
every time it is looked at, and is not marked as read: so the 400 page raised, then the 500 page, and
the patient saw a bare server error. These pages (ruxguide.guard.error_page) mark the body as read
and set the CSRF cookie the page's language switch needs without running the check; the 500 page is
drawn without the request, as Django's own is.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader
from django.utils import translation

from ruxguide.guard import error_page, language_of

# When even the 500 page cannot be drawn, the patient still reads words, in both languages.
PLAIN_SERVER_ERROR = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Sorry, something went wrong on our side</title>"
    "<h1>Sorry, something went wrong on our side</h1><p data-problem>Please try again in a few minutes. "
    'If it keeps happening, ask your doctor or pharmacist your questions instead. <a href="/">Go to the start</a>.'
    '</p><div lang="zh-Hans"><h2>抱歉，我们这边出了问题</h2>'
    '<p>请过几分钟再试。如果问题一直存在，请直接向医生或药师咨询。<a href="/zh-hans/">回到开始页</a>。</p></div></html>'
)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "404.html", 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Drawn without the request, as Django draws its own: whatever broke (the database, a context
    processor, the session) is not needed again to say so."""
    try:
        with translation.override(language_of(request)):
            return HttpResponseServerError(loader.get_template("500.html").render())
    except Exception:
        return HttpResponseServerError(PLAIN_SERVER_ERROR)
