"""Running management commands from tests."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from django.core.management import call_command


def screen_from_stdin(monkeypatch: pytest.MonkeyPatch, answers: Mapping[str, Any]) -> str:
    """What `manage.py screen` prints for answers given as JSON on standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(answers)))
    out = io.StringIO()
    call_command("screen", stdout=out)
    return out.getvalue()
