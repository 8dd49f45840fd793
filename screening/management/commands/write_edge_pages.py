"""manage.py write_edge_pages DIR: the pages nginx shows when a request never reaches the app.

nginx answers some requests itself (a body or header too large, too many connections, the app
servers down). Those pages are rendered here from the app's own templates, in each language, so a
patient sees the same look, the same plain words and the same urgent warning signs as everywhere
else. Run after collectstatic, since the pages link the stylesheet by its hashed name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.template.loader import render_to_string
from django.utils import translation

# nginx's status -> our template (ruxguide/deploy/nginx/ruxguide.conf.template names the files).
EDGE_PAGES = {status: f"{status}.html" for status in ("400", "404", "405", "413", "429", "500")}


class Command(BaseCommand):
    help = "Write nginx's own error pages (400, 404, 405, 413, 429, 5xx), in every language, into DIR/<language>/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        for language, _name in settings.LANGUAGES:
            folder = directory / language
            folder.mkdir(parents=True, exist_ok=True)
            with translation.override(language):
                for status, template in EDGE_PAGES.items():
                    (folder / f"{status}.html").write_text(render_to_string(template), encoding="utf-8")
        self.stdout.write(f"Wrote {len(EDGE_PAGES)} pages in {len(settings.LANGUAGES)} languages to {directory}")
