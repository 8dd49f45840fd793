"""Ruxguide settings: one module, every value from the environment, safe production defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# pytest sets PYTEST_VERSION while it runs; only then, or in DEBUG, may a throwaway key be used.
UNDER_TEST = "PYTEST_VERSION" in os.environ

MISSING_SECRET_KEY = (
    "DJANGO_SECRET_KEY is not set. Set it to a long random value in production, "
    "or set DJANGO_DEBUG=true for local development."
)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or UNDER_TEST):
    SECRET_KEY = "insecure-development-key-never-used-in-production"
HAS_SECRET_KEY = bool(SECRET_KEY)  # Django refuses to read an empty SECRET_KEY, so ask this instead
# After a key change, cookies and tokens made with an old key (comma-separated here) still read.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
# Without a key the app servers refuse to start (ruxguide/wsgi.py, asgi.py) and anything that signs
# fails; commands that need no key (makemigrations, check) still run, so tooling works unconfigured.

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or UNDER_TEST else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "simple_history",
    "axes",
    "screening",
]

MIDDLEWARE = [
    "ruxguide.middleware.RequestLogMiddleware",
    "ruxguide.middleware.HeadWithoutBodyMiddleware",
    # Pages are compressed too (static files are pre-compressed by WhiteNoise). Django pads gzip
    # output at random against BREACH, and CSRF tokens are masked per response.
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ruxguide.middleware.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # After the security headers, so its refusals carry them too; before anything reads the body or
    # checks the CSRF token, so a body too large or unreadable, or a method a page does not take, is
    # refused (413, 400, 405) unread.
    "ruxguide.guard.PatientErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Staff pages get server-side sessions, patient pages the encrypted cookie (ruxguide/sessions.py).
    "ruxguide.sessions.TwoSessionsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ruxguide.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ruxguide.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Staff sign-in is protected against password guessing: after 5 failures for one user name from
# one address, that pair is locked out for an hour.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("RUXGUIDE_SIGN_IN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = False
# A failed sign-in's record keeps its query and form with these masked: `next` can hold a patient's
# hand-off code (the clinician's link to it), which must never be stored.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "next"]
# Behind the TLS proxy every sign-in comes from the proxy; the address that counts is the one the
# trusted proxies appended to X-Forwarded-For (ruxguide/client_address.py), never the client's own claim.
RUXGUIDE_TRUSTED_PROXY_COUNT = env_int(
    "RUXGUIDE_TRUSTED_PROXY_COUNT", 1 if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else 0
)
AXES_CLIENT_IP_CALLABLE = "ruxguide.client_address.client_address"

ROOT_URLCONF = "ruxguide.urls"
WSGI_APPLICATION = "ruxguide.wsgi.application"
ASGI_APPLICATION = "ruxguide.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite in the project folder is the embedded default; DATABASE_URL selects anything else.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    (BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Every transaction takes SQLite's write lock when it begins, so two clinicians saving or publishing
    # at once queue (for up to `timeout` seconds) instead of one failing with "database is locked" when
    # a reading transaction tries to become a writing one. Patient pages write nothing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # Tests run on a database file (one per test process, removed afterwards) rather than SQLite's shared
    # in-memory database: there a second connection's write fails at once ("database table is locked")
    # instead of waiting for the lock, so concurrent publishing could not be tested as it runs.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# How long an app server may serve the live rule set before asking the database again which version
# is live. A publication reaches every server within this time (and its own server at once).
# Tests roll back publications under it, so there it asks every time unless a test says otherwise.
RUXGUIDE_LIVE_CHECK_SECONDS = float(os.environ.get("RUXGUIDE_LIVE_CHECK_SECONDS", "0" if UNDER_TEST else "0.5"))

# The public address of the FHIR resources: the Questionnaire's canonical `url` is
# <this>/Questionnaire/ruxolitinib-cream, and the app serves it there (screening/fhir.py).
RUXGUIDE_FHIR_BASE_URL = os.environ.get("RUXGUIDE_FHIR_BASE_URL", "http://127.0.0.1:8000/fhir").rstrip("/")
# How long a hand-off code on a patient's result opens for a clinician.
RUXGUIDE_HANDOFF_DAYS = env_int("RUXGUIDE_HANDOFF_DAYS", 30)

LANGUAGE_CODE = "en"
# Patient pages in English (no prefix) and Simplified Chinese (/zh-hans/...); the admin is English.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "ruxguide" / "locale"]
FORMAT_MODULE_PATH = ["ruxguide.formats"]
# A language chosen with the switch is remembered until the browser closes, like the visit.
LANGUAGE_COOKIE_AGE = None
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE: Literal["Lax", "Strict", "None", False] | None = "Lax"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Two sessions (ruxguide/sessions.py). Staff sign-ins (/admin/, /preview/) are Django's own sessions,
# kept on the server, so signing out or deactivating an account ends them at once, even for a copied
# cookie; `manage.py clearsessions` tidies expired ones. A patient's answers live only in their own
# cookie, encrypted: nothing about them is stored on the server, any app server can continue any
# visit, and a copy of the cookie cannot be read. Both cookies share the SESSION_COOKIE_* settings below.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "ruxguide_staff"
RUXGUIDE_PATIENT_SESSION_ENGINE = "ruxguide.sessions"
RUXGUIDE_PATIENT_SESSION_COOKIE_NAME = "sessionid"
SESSION_COOKIE_AGE = env_int("RUXGUIDE_SESSION_SECONDS", 2 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = True
# A patient's unchanged cookie is sealed again (its expiry moved on) at most this often: ruxguide/sessions.py.
RUXGUIDE_SESSION_RESEAL_SECONDS = env_int("RUXGUIDE_SESSION_RESEAL_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE: Literal["Lax", "Strict", "None", False] | None = "Lax"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "screening.views.problems.csrf_failure"
# Django's checks look for its CSRF middleware by name; ruxguide/csrf.py subclasses it (a faster
# unmasking) and registers the same two checks for any CSRF middleware (ruxguide.W003, ruxguide.W016).
SILENCED_SYSTEM_CHECKS = ["security.W003", "security.W016"]

# Every patient form is small; a bigger body, files included, is refused with a 413 before it is read.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("RUXGUIDE_MAX_BODY_BYTES", 64 * 1024)
RUXGUIDE_MAX_IMPORT_BYTES = env_int("RUXGUIDE_MAX_IMPORT_BYTES", 2 * 1024 * 1024)  # a rule-set file to import
# The admin's import page alone takes more: the file, and as much form around it as any page may send.
RUXGUIDE_MAX_IMPORT_BODY_BYTES = RUXGUIDE_MAX_IMPORT_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE
# So an upload the app accepts is never written to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = RUXGUIDE_MAX_IMPORT_BODY_BYTES
RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = env_bool("RUXGUIDE_SINGLE_CLINICIAN_PUBLISH", False)  # no second review
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Production (neither DEBUG nor the test run) is HTTPS-only unless told otherwise.
PRODUCTION = not DEBUG and not UNDER_TEST
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 60 * 60 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline script or style anywhere: htmx is configured (in base.html) to need neither.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ruxguide.json_logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # The development server's own access lines repeat ours, with query strings: keep them quiet.
        "django.server": {"level": "WARNING"},
        "ruxguide.requests": {"level": os.environ.get("RUXGUIDE_REQUEST_LOG_LEVEL", "INFO")},
    },
}
