"""The hand-off code: made on the patient's result, shown with its QR code, opened by their clinician."""

from __future__ import annotations

import logging
import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client

from ruxguide.json_logs import JsonFormatter
from screening import handoff
from screening.engine import RuleSet, walk
from screening.translations import ENGLISH
from tests.support import patients
from tests.support.browser import MANY_CAUTIONS
from tests.support.client import page_text, patient_session, patient_url, text
from tests.support.handoff import BUTTON, HANDOFF_URL, code_of, download_of, finish_check, local, make_code

# ---------------------------------------------------------------------------------------------
# The patient's side
# ---------------------------------------------------------------------------------------------


def test_the_result_offers_a_plain_form_button_that_makes_a_code(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    page = text(client.get(patient_url("result")))
    form = re.search(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrfmiddlewaretoken"', page)
    assert form and form.group(1) == patient_url("handoff")
    assert f">{BUTTON}</button>" in page
    assert "data-handoff-url" not in page


def test_after_the_button_the_result_shows_the_qr_code_as_inline_svg_and_the_link(
    client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    page = text(client.get(patient_url("result")))
    assert address.startswith("http://testserver/admin/handoff/?code=")
    svg = re.search(r"<svg [^>]*>.*?</svg>", page, re.S)
    assert svg, "no inline SVG"
    assert 'role="img"' in svg.group(0) and "<title>QR code with the link for your clinician</title>" in svg.group(0)
    # The CSP forbids inline styles and scripts.
    assert "style" not in svg.group(0)
    assert not re.search(r"<script(?![^>]*\ssrc=)", page)
    assert f'href="{address}"' in page
    assert BUTTON not in page  # the code is made: no second button
    assert "It does not hold your name." in page


def test_the_printout_says_what_the_code_holds_and_the_date_it_stops_working(
    client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    page = page_text(client.get(patient_url("result_print")))
    assert f'data-handoff-url="{address}"' in page
    assert "<svg " in page
    assert "The code holds your answers and the version of this check. It does not hold your name." in page
    stops = (datetime.now(UTC) + timedelta(days=settings.RUXGUIDE_HANDOFF_DAYS)).strftime("%-d %B %Y")
    assert f"The code works until {stops}." in page


def test_the_printout_has_no_code_part_until_the_patient_makes_one(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    page = text(client.get(patient_url("result_print")))
    assert "data-handoff-url" not in page and BUTTON not in page


def test_a_changed_answer_drops_the_code_so_it_always_matches_the_answers(
    client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    make_code(client)
    response = client.post(patient_url("question", "allergy") + "?change=1", {"allergy": "yes"})
    assert response.status_code == 302
    page = text(client.get(patient_url("result")))
    assert "data-handoff-url" not in page
    assert BUTTON in page
    assert "handoff" not in patient_session(client)


def test_changing_an_answer_and_back_keeps_a_code_for_the_same_answers(
    client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    first = make_code(client)
    client.post(patient_url("question", "allergy") + "?change=1", {"allergy": "no"})
    assert HANDOFF_URL.search(text(client.get(patient_url("result")))).group(1) == first  # type: ignore[union-attr]


def test_clearing_the_answers_drops_the_code(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    make_code(client)
    client.post(patient_url("clear"))
    assert "handoff" not in patient_session(client)


def test_a_code_cannot_be_made_before_the_check_is_finished(client: Client, published_rules: RuleSet) -> None:
    client.get(patient_url("begin"))
    client.post(patient_url("question", "urgent_symptoms"), {"urgent_symptoms": "no"})
    response = client.post(patient_url("handoff"))
    assert response.status_code == 409
    assert "handoff" not in patient_session(client)


def test_the_button_takes_only_a_form_post(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    assert client.get(patient_url("handoff")).status_code == 405


def test_the_button_needs_the_csrf_token(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT)
    checked = Client(enforce_csrf_checks=True)
    checked.cookies = client.cookies  # the same patient, now sending the form without its token
    response = checked.post(patient_url("handoff"))
    assert response.status_code == 403
    assert "handoff" not in patient_session(checked)


def test_two_patients_each_see_only_their_own_code_though_the_page_around_it_is_shared(
    published_rules: RuleSet,
) -> None:
    first, second = Client(), Client()
    finish_check(first, patients.HEALTHY_ADULT)
    finish_check(second, MANY_CAUTIONS)
    first_address, second_address = make_code(first), make_code(second)
    assert first_address != second_address
    for _ in range(2):  # the second round reads the kept pages
        first_page, second_page = text(first.get(patient_url("result"))), text(second.get(patient_url("result")))
        assert HANDOFF_URL.findall(first_page) == [first_address]
        assert HANDOFF_URL.findall(second_page) == [second_address]
        print_page = text(second.get(patient_url("result_print")))
        assert HANDOFF_URL.findall(print_page) == [second_address]
    # A third patient with the first one's answers (so the same shared page) gets the button, not a code.
    third = Client()
    finish_check(third, patients.HEALTHY_ADULT)
    third_page = text(third.get(patient_url("result")))
    assert "data-handoff-url" not in third_page and BUTTON in third_page
    assert code_of(first_address) not in third_page


def test_chinese_pages_offer_and_show_the_code_in_chinese(client: Client, published_rules: RuleSet) -> None:
    finish_check(client, patients.HEALTHY_ADULT, language="zh-hans")
    page = text(client.get(patient_url("result", language="zh-hans")))
    assert "为我的医生生成代码" in page
    address = make_code(client, language="zh-hans")
    page = text(client.get(patient_url("result_print", language="zh-hans")))
    assert address in page.replace("&amp;", "&")
    assert "这个代码包含您的回答和本检查的版本。它不包含您的姓名。" in page
    assert handoff.open_code(code_of(address)).language == "zh-hans"


def test_the_preview_of_the_draft_offers_no_code(clinician_client: Client, published_rules: RuleSet) -> None:
    for _ in patients.walk_check(clinician_client, patients.as_lists(patients.HEALTHY_ADULT), namespace="preview"):
        pass
    page = text(clinician_client.get("/preview/check/result/"))
    assert BUTTON not in page and "data-handoff-url" not in page
    assert clinician_client.post("/preview/check/result/handoff/").status_code == 404


# ---------------------------------------------------------------------------------------------
# The code itself
# ---------------------------------------------------------------------------------------------


def test_a_code_round_trips_the_version_the_language_and_the_counted_answers(published_rules: RuleSet) -> None:
    counted = walk(published_rules, MANY_CAUTIONS).counted
    made = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    code = handoff.make_code(published_rules, counted, language="zh-hans", now=made)
    held = handoff.open_code(code, now=made + timedelta(days=1))
    assert (held.version, held.language, held.answers, held.made_at) == (
        published_rules.version,
        "zh-hans",
        counted,
        made,
    )


def test_the_code_for_the_many_cautions_patient_is_short_and_its_qr_code_small(published_rules: RuleSet) -> None:
    code = handoff.make_code(published_rules, walk(published_rules, MANY_CAUTIONS).counted, language=ENGLISH)
    assert len(code) <= 120
    qr = handoff.qr(f"https://ruxguide.example.org/admin/handoff/?code={code}")
    assert qr.version <= 9 and qr.error in {"M", "Q", "H"}


def test_a_code_reveals_none_of_the_answers_without_the_key(published_rules: RuleSet) -> None:
    import base64

    counted = walk(published_rules, MANY_CAUTIONS).counted
    code = handoff.make_code(published_rules, counted, language=ENGLISH)
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    assert handoff.pack(published_rules, counted, language=ENGLISH) not in raw
    for words in ["psoriasis", "over_limit", "65_or_over"]:
        assert words.encode() not in raw and words not in code


def test_an_expired_code_gets_a_clear_410_page(clinician_client: Client, published_rules: RuleSet) -> None:
    days = settings.RUXGUIDE_HANDOFF_DAYS
    made = datetime.now(UTC) - timedelta(days=days, minutes=1)
    code = handoff.make_code(published_rules, dict(patients.HEALTHY_ADULT), language=ENGLISH, now=made)
    response = clinician_client.get(f"/admin/handoff/?code={code}")
    assert response.status_code == 410
    page = page_text(response)
    assert f"This code has expired: codes work for {days} days. Ask the patient to make a new one." in page
    assert published_rules.question("allergy").text not in page  # type: ignore[union-attr]


def test_a_code_a_day_short_of_its_end_still_opens(clinician_client: Client, published_rules: RuleSet) -> None:
    made = datetime.now(UTC) - timedelta(days=settings.RUXGUIDE_HANDOFF_DAYS - 1)
    code = handoff.make_code(published_rules, dict(patients.HEALTHY_ADULT), language=ENGLISH, now=made)
    assert clinician_client.get(f"/admin/handoff/?code={code}").status_code == 200


@pytest.mark.parametrize("position", [0, 10, 40, 80, -1])
def test_a_tampered_code_gets_a_clear_400_page(
    clinician_client: Client, published_rules: RuleSet, position: int
) -> None:
    code = handoff.make_code(published_rules, dict(patients.HEALTHY_ADULT), language=ENGLISH)
    # The character's highest bit flipped: always a bit of the code (a last character's lowest bits can be
    # padding that decoding drops, so changing those would change nothing).
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    flipped = alphabet[alphabet.index(code[position]) ^ 32]
    changed = code[:position] + flipped + (code[position + 1 :] if position != -1 else "")
    response = clinician_client.get(f"/admin/handoff/?code={changed}")
    assert response.status_code == 400
    assert "This code was not made by this service, or part of it was changed or cut off." in page_text(response)


@pytest.mark.parametrize("code", ["", "not-a-code", "%FF%FE", "é" * 10, "A" * 2000, "gAAAAA"])
def test_garbled_codes_get_a_4xx_page_never_a_500(
    clinician_client: Client, published_rules: RuleSet, code: str
) -> None:
    response = clinician_client.get(f"/admin/handoff/?code={code}")
    assert response.status_code == 400


def test_a_code_made_by_another_server_gets_a_clear_400_page(
    clinician_client: Client, published_rules: RuleSet, settings
) -> None:
    original = settings.SECRET_KEY
    settings.SECRET_KEY = "another server's key, long and random enough for the test"
    foreign = handoff.make_code(published_rules, dict(patients.HEALTHY_ADULT), language=ENGLISH)
    settings.SECRET_KEY = original
    response = clinician_client.get(f"/admin/handoff/?code={foreign}")
    assert response.status_code == 400
    assert "This code was not made by this service" in page_text(response)


def test_a_code_made_before_the_key_was_rotated_still_opens(
    clinician_client: Client, published_rules: RuleSet, settings
) -> None:
    old_key = settings.SECRET_KEY
    code = handoff.make_code(published_rules, dict(patients.HEALTHY_ADULT), language=ENGLISH)
    settings.SECRET_KEY = "the new key after a rotation, long and random enough"
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert clinician_client.get(f"/admin/handoff/?code={code}").status_code == 200


# ---------------------------------------------------------------------------------------------
# Nothing kept, nothing logged
# ---------------------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_making_and_opening_a_code_adds_no_row_to_any_table(
    client: Client, clinician_client: Client, published_rules: RuleSet
) -> None:
    finish_check(client, MANY_CAUTIONS)
    clinician_client.get("/admin/")  # the staff session exists before counting
    before = row_counts()
    address = make_code(client)
    client.get(patient_url("result_print"))
    assert clinician_client.get(local(address)).status_code == 200
    download = download_of(address)
    assert clinician_client.get(download).status_code == 200
    assert row_counts() == before


def test_no_log_line_holds_the_code(
    client: Client, clinician_client: Client, published_rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    # Every logger, at every level: Django's own (django.request's 4xx lines), ours, and the libraries'.
    finish_check(client, MANY_CAUTIONS)
    with caplog.at_level(logging.DEBUG):
        address = make_code(client)
        code = code_of(address)
        clinician_client.get(local(address))
        clinician_client.get(download_of(address))
        Client().get(local(address))  # not signed in: the sign-in redirect carries it in its query
        clinician_client.get(f"/admin/handoff/?code={code[:-3]}xyz")  # refused
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any('"path": "/admin/handoff/"' in line for line in lines)
    assert all(code not in line and code[:40] not in line for line in lines)


def test_gunicorn_and_nginx_access_lines_leave_the_query_string_and_so_the_code_out() -> None:
    import io

    from gunicorn.config import Config  # type: ignore[import-untyped]

    from ruxguide.gunicorn_logs import JsonLinesLogger

    config = Config()
    config.set("accesslog", "-")
    logger = JsonLinesLogger(config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers:
        handler.setStream(stream)  # type: ignore[attr-defined]

    class Answer:
        status = "200 OK"

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/admin/handoff/", "QUERY_STRING": "code=gAAAAAsecret"}
    logger.access(Answer(), None, environ, timedelta(milliseconds=3))
    assert '"path": "/admin/handoff/"' in stream.getvalue() and "gAAAAAsecret" not in stream.getvalue()
    template = (Path(settings.BASE_DIR) / "ruxguide/deploy/nginx/ruxguide.conf.template").read_text()
    log_format = template.split("log_format ruxguide_json", 1)[1].split(";", 1)[0]
    assert "$ruxguide_path" in log_format
    for variable in ("$request_uri", "$request ", "$args", "$query_string", "$http_referer", "$uri"):
        assert variable not in log_format
    assert re.search(r'map \$request_uri \$ruxguide_path \{\s*"~\^\(\?<path>\[\^\?\]\*\)" \$path;', template)


def test_the_words_about_the_code_read_at_grade_8_or_lower(client: Client, published_rules: RuleSet) -> None:
    from screening.readability import TARGET_GRADE, flesch_kincaid_grade

    finish_check(client, MANY_CAUTIONS)
    address = make_code(client)
    page = page_text(client.get(patient_url("result_print")))
    section = page.split('id="handoff"', 1)[1].split("</section>", 1)[0]
    words = re.sub(r"<[^>]+>", " ", section.split(">", 1)[1]).replace(address, "")
    assert "It does not hold your name." in words
    assert flesch_kincaid_grade(words) <= TARGET_GRADE
