"""Every address of the app, plus the bare view the benchmark compares the patient pages with."""

from django.urls import path

from ruxguide.urls import urlpatterns as app_urlpatterns
from tests.system.bench_views import bare

# Not include(): the app's addresses use i18n_patterns, which Django allows in the root URLconf only.
urlpatterns = [*app_urlpatterns, path("bench/bare/", bare)]
