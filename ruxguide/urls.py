from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from screening import urls as patient_urls
from screening.admin.access import previewing
from screening.views import fhir, handoff

# The same patient pages over the draft rule set, for signed-in staff allowed to preview it (no hand-off
# code: one names a published version, never the draft).
preview_patterns = [
    path(str(pattern.pattern), previewing(pattern.callback), name=pattern.name)
    for pattern in patient_urls.urlpatterns
    if pattern.name != "handoff"
]

urlpatterns = [
    # A patient's hand-off code, opened by their clinician: staff pages (server-side session), before the admin's own.
    path("admin/handoff/", handoff.open_code, name="handoff_open"),
    path("admin/handoff/questionnaire-response/", handoff.questionnaire_response, name="handoff_response"),
    path("admin/", admin.site.urls),
    # The public FHIR Questionnaire at its canonical address (RUXGUIDE_FHIR_BASE_URL), in no language prefix.
    path(fhir.route_prefix(), include(fhir.urlpatterns)),
    # Browsers ask for /favicon.ico on pages (like the admin's) that do not name an icon.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]
# English pages keep their addresses; Chinese ones start with /zh-hans/, so a link keeps its language.
urlpatterns += i18n_patterns(
    path("preview/", include((preview_patterns, "screening"), namespace="preview")),
    path("", include("screening.urls")),
    prefix_default_language=False,
)

# The app's own error pages: they never read a body Django could not read (screening/views/errors.py).
handler400 = "screening.views.errors.bad_request"
handler403 = "screening.views.errors.permission_denied"
handler404 = "screening.views.errors.page_not_found"
handler500 = "screening.views.errors.server_error"
