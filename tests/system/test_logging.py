"""Logs: one structured line per request, and nothing a patient answered."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.test import Client, RequestFactory

from ruxguide.json_logs import JsonFormatter


def test_each_request_is_logged_as_one_structured_line_without_answers_or_cookies(
    client: Client, published_rules, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/check/")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ruxguide.requests"):
        client.post("/check/question/urgent_symptoms/?change=1", {"urgent_symptoms": "yes"})
    records = [r for r in caplog.records if r.name == "ruxguide.requests"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert {k: line[k] for k in ("method", "path", "status", "htmx")} == {
        "method": "POST",
        "path": "/check/question/urgent_symptoms/",
        "status": 302,
        "htmx": False,
    }
    assert isinstance(line["duration_ms"], float)
    text = json.dumps(line)
    assert "yes" not in text and "change" not in text
    assert client.cookies["sessionid"].value not in text


def test_an_error_is_logged_with_its_traceback_but_not_the_request_it_came_from() -> None:
    request = RequestFactory().post("/check/question/pregnancy/", {"pregnancy": "pregnant"})
    request.COOKIES["sessionid"] = "secret-session-value"
    try:
        raise RuntimeError("the rule set could not be read")
    except RuntimeError:
        record = logging.getLogger("django.request").makeRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            (request.path,),
            exc_info=sys.exc_info(),
            extra={"status_code": 500, "request": request},
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Internal Server Error: /check/question/pregnancy/"
    assert line["status_code"] == 500
    assert "RuntimeError: the rule set could not be read" in line["error"]
    text = json.dumps(line)
    assert 'pregnant"' not in text.replace("/pregnancy/", "") and "secret-session-value" not in text
