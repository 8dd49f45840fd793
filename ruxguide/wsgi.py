"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

from ruxguide.guard import guard_wsgi, require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruxguide.settings")
require_secret_key()
application = guard_wsgi(get_wsgi_application())
