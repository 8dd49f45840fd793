"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from ruxguide.guard import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruxguide.settings")
require_secret_key()
application = get_asgi_application()
