"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

from ruxguide.guard import guard_wsgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruxguide.settings")
application = guard_wsgi(get_wsgi_application())
