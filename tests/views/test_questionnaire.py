"""Request tests of the patient flow: start, one question per step, check your answers, result, clear.

The Django test client drives the views as a browser without JavaScript would (plain forms,
POST/redirect/GET), and as htmx would (the `HX-Request` header, answered with the `main` partial).
"""

from __future__ import annotations

import logging
import re

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from screening.engine import RuleSet, evaluate, shown_questions
from screening.models import Option, Question, Rule, Scenario
from screening.publishing import publish
from screening.visit import SESSION_KEY
from tests.support import patients
from tests.support.client import (
    HEALTHY_ADULT,
    HTMX,
    Steps,
    Value,
    answer,
    as_list,
    patient_session,
    question_url,
    stored_answers,
    text,
)
from tests.support.patients import as_form_values

pytestmark = pytest.mark.django_db

FIRST_QUESTION = "/check/question/urgent_symptoms/"
URGENT_SIGNS_TITLE = "Warning signs: get medical help now"
URGENT_SIGNS_LINE = "A painful, swollen leg. This can be a sign of a blood clot."
NOT_A_CLINICIAN = "does not replace"
SEVERITY_ORDER = ["urgent", "stop_and_call", "do_not_use", "talk_first", "take_care"]

# The first answers of a visit, in the order the app asks them.
EARLY_ADULT_STEPS: list[tuple[str, Value]] = [
    ("urgent_symptoms", "no"),
    ("condition", "atopic_dermatitis"),
    ("age_group", "18_to_64"),
    ("allergy", "no"),
    ("pregnancy", "no"),
    ("breastfeeding", "no"),
]


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def complete(client: Client, **overrides: Value) -> dict[str, Value]:
    """Follow the app from /check/ to "check your answers" (or to the result, when an answer ends the
    check), answering from HEALTHY_ADULT with overrides.

    Returns the answers given, in the order the app asked for them.
    """
    given_answers = {**HEALTHY_ADULT, **overrides}
    asked: dict[str, Value] = {}
    location = client.get("/check/")["Location"]
    while location not in ("/check/answers/", "/check/result/"):
        match = re.fullmatch(r"/check/question/([a-z0-9_-]+)/", location)
        assert match, location
        question_id = match.group(1)
        assert question_id not in asked, f"{question_id} was asked twice"
        asked[question_id] = given_answers[question_id]
        response = client.post(location, {question_id: as_list(given_answers[question_id])})
        assert response.status_code == 302, (question_id, response.status_code)
        location = response["Location"]
    return asked


def expected_answers(steps: Steps) -> dict[str, list[str]]:
    return {question_id: as_list(value) for question_id, value in steps}


def assert_problem(response: HttpResponse, status: int, message: str) -> None:
    assert response.status_code == status, (response.status_code, text(response)[:500])
    assert message in text(response)


def result_groups(html: str) -> list[tuple[str, list[str]]]:
    """The result page's level groups, in page order, each with the rules it shows."""
    parts = re.split(r'<section class="level-group level-([a-z_]+)"', html)[1:]
    groups = []
    for level, body in zip(parts[::2], parts[1::2], strict=True):
        body = body.split("</section>", 1)[0]
        groups.append((level, re.findall(r'data-rule="([a-z0-9_-]+)"', body)))
    return groups


def row_counts() -> dict[str, int]:
    models = [*apps.get_app_config("screening").get_models(include_auto_created=True), Session]
    return {model._meta.label: model.objects.count() for model in models}


# ---------------------------------------------------------------------------------------------
# 1-2. Start page and /check/
# ---------------------------------------------------------------------------------------------


def test_it_shows_the_start_page_with_what_the_check_is_and_is_not(client, published_rules):
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert "It does not replace your doctor, nurse or pharmacist." in page
    assert "It takes about 3 minutes" in page
    assert re.search(r'<a [^>]*href="/check/"[^>]*>\s*Start now\s*</a>', page)
    assert URGENT_SIGNS_TITLE in page
    assert URGENT_SIGNS_LINE in page


def test_it_answers_a_head_request_for_the_start_page(client, published_rules):
    response = client.head("/")
    assert response.status_code == 200
    assert response.content == b""


def test_it_offers_to_continue_the_check_when_answers_exist(client, published_rules):
    answer(client, [("urgent_symptoms", "no")])
    page = text(client.get("/"))
    assert "Continue the check" in page
    assert "Clear my answers" in page


def test_it_redirects_check_to_the_first_question(client, published_rules):
    response = client.get("/check/")
    assert response.status_code == 302
    assert response["Location"] == FIRST_QUESTION


def test_it_redirects_check_to_the_first_unanswered_question_of_a_started_visit(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:3])
    assert client.get("/check/")["Location"] == "/check/question/allergy/"


# ---------------------------------------------------------------------------------------------
# 3. A question step, as a full page and as an htmx partial
# ---------------------------------------------------------------------------------------------


def test_it_shows_a_question_as_a_fieldset_with_named_inputs_progress_and_a_back_link(client, published_rules):
    question = published_rules.question("urgent_symptoms")
    response = client.get(FIRST_QUESTION)
    assert response.status_code == 200
    page = text(response)
    fieldset = re.search(r"<fieldset[^>]*>(.*?)</fieldset>", page, re.S)
    assert fieldset, "no fieldset"
    legend = re.search(r"<legend>(.*?)</legend>", fieldset.group(1), re.S)
    assert legend and escape(question.text) in legend.group(1)
    inputs = re.findall(r'<input type="radio" id="[^"]+" name="([^"]+)" value="([^"]+)"', fieldset.group(1))
    assert inputs == [(question.id, option_id) for option_id in question.option_ids]
    total = len(shown_questions(published_rules, {}))
    assert f"Question 1 of about {total}" in page
    assert re.search(r'<a class="back-link" href="/"[^>]*>Back</a>', page)


def test_it_shows_checkboxes_for_a_question_with_several_answers(client, published_rules):
    answer(client, [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")])
    page = text(client.get(question_url("other_medicines")))
    question = published_rules.question("other_medicines")
    inputs = re.findall(r'<input type="checkbox" id="[^"]+" name="other_medicines" value="([^"]+)"', page)
    assert inputs == list(question.option_ids)
    assert "Question 8 of about" in page
    assert 'href="/check/question/weakened_immunity/"' in page  # Back goes to the previous question


def test_it_marks_the_stored_answer_as_checked_when_going_back(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    page = text(client.get(question_url("condition")))
    assert re.search(r'value="atopic_dermatitis" checked', page)
    assert not re.search(r'value="vitiligo" checked', page)


def test_it_returns_only_the_partial_with_a_title_and_a_pushed_url_to_htmx(client, published_rules):
    response = client.get(FIRST_QUESTION, headers=HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert "<header" not in page
    assert "<title>" in page
    assert "<fieldset" in page
    assert response["HX-Push-Url"] == FIRST_QUESTION


def test_it_pushes_the_full_path_with_its_query_for_an_htmx_change_link(client, published_rules):
    complete(client)
    url = question_url("condition", change=True)
    assert client.get(url, headers=HTMX)["HX-Push-Url"] == url


def test_it_returns_the_whole_page_without_the_htmx_header(client, published_rules):
    response = client.get(FIRST_QUESTION)
    page = text(response)
    assert "<html" in page
    assert "<header" in page
    assert "<fieldset" in page
    assert URGENT_SIGNS_TITLE in page
    assert "HX-Push-Url" not in response


def test_it_returns_the_whole_page_for_an_htmx_history_restore(client, published_rules):
    response = client.get(FIRST_QUESTION, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in text(response)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["full", "htmx"])
def test_it_varies_a_question_step_on_the_htmx_header(client, published_rules, headers):
    response = client.get(FIRST_QUESTION, headers=headers)
    assert "HX-Request" in [v.strip() for v in response["Vary"].split(",")]


@pytest.mark.parametrize("url", ["/", "/check/answers/", "/check/result/"])
def test_it_varies_the_other_patient_pages_on_the_htmx_header(client, published_rules, url):
    complete(client)
    response = client.get(url)
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]


def test_it_returns_a_problem_page_as_a_partial_to_htmx(client, published_rules):
    response = client.get(question_url("no_such_question"), headers=HTMX)
    assert response.status_code == 404
    page = text(response)
    assert "<html" not in page
    assert "<title>We could not find that question" in page


# ---------------------------------------------------------------------------------------------
# 4. POST/redirect/GET, what the session holds, and what the database does not
# ---------------------------------------------------------------------------------------------


def test_it_redirects_a_valid_answer_to_the_next_question(client, published_rules):
    response = client.post(FIRST_QUESTION, {"urgent_symptoms": "no"})
    assert response.status_code == 302
    assert response["Location"] == "/check/question/condition/"


def test_it_answers_a_htmx_answer_with_the_next_questions_partial_and_pushes_its_address(client, published_rules):
    response = client.post(FIRST_QUESTION, {"urgent_symptoms": "no"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/check/question/condition/"
    page = response.content.decode()
    assert "<html" not in page and 'name="condition"' in page
    assert 'hx-post="/check/question/condition/"' in page
    assert client.get("/check/question/condition/").status_code == 200


def test_it_answers_the_last_htmx_answer_with_check_your_answers(client, published_rules):
    complete(client)
    response = client.post(question_url("side_effects"), {"side_effects": "none"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/check/answers/"
    assert "Check your answers" in response.content.decode()


def test_it_redirects_the_last_answer_to_check_your_answers(client, published_rules):
    complete(client)
    response = answer(client, [("side_effects", ["none"])])
    assert response["Location"] == "/check/answers/"


def test_it_keeps_answers_across_requests_in_the_session(client, published_rules):
    answer(client, EARLY_ADULT_STEPS)
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS)
    client.get("/")
    client.get(question_url("weakened_immunity"))
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS)


def test_it_stores_several_answers_in_the_question_order(client, published_rules):
    answer(client, [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")])
    answer(client, [("other_medicines", ["strong_cyp3a4_inhibitors", "immunosuppressant_tablets"])])
    assert stored_answers(client)["other_medicines"] == ["immunosuppressant_tablets", "strong_cyp3a4_inhibitors"]


def test_it_keeps_nothing_in_the_session_but_the_version_and_the_answers(client, published_rules):
    complete(client)
    client.get("/check/result/")
    session = dict(patient_session(client).items())
    assert session == {
        SESSION_KEY: {"version": published_rules.version, "answers": expected_answers(HEALTHY_ADULT.items())}
    }


def test_it_writes_no_database_row_during_a_whole_visit(client, published_rules):
    before = row_counts()
    assert before["sessions.Session"] == 0
    complete(client, pregnancy="pregnant", other_medicines=["immunosuppressant_tablets"])
    client.get("/check/answers/")
    client.get("/check/result/")
    client.get("/check/result/print/")
    client.post("/check/clear/")
    assert row_counts() == before


# ---------------------------------------------------------------------------------------------
# 5. An empty submission
# ---------------------------------------------------------------------------------------------


def test_it_asks_again_with_an_error_summary_when_nothing_was_chosen(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    response = client.post(question_url("condition"), {})
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert 'href="#condition-atopic_dermatitis"' in page
    assert 'id="condition-atopic_dermatitis"' in page  # the link's target exists
    assert "Choose an answer." in page
    assert "<title>Error: " in page
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


def test_it_asks_for_at_least_one_answer_on_an_empty_question_with_several_answers(client, published_rules):
    answer(client, [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")])
    response = client.post(question_url("other_medicines"), {})
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert 'href="#other_medicines-immunosuppressant_tablets"' in page
    assert "Choose at least one answer" in page
    assert "other_medicines" not in stored_answers(client)


# ---------------------------------------------------------------------------------------------
# 6. Bad input: status code, message, and no earlier answer lost
# ---------------------------------------------------------------------------------------------


def test_it_refuses_an_unknown_option_with_400(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    response = client.post(question_url("condition"), {"condition": "eczema-ish"})
    assert_problem(response, 400, "We could not use that answer")
    assert "eczema-ish" not in text(response)
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


def test_it_refuses_an_option_of_another_question_with_400(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:1])
    response = client.post(question_url("condition"), {"condition": "18_to_64"})
    assert_problem(response, 400, "We could not use that answer")
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:1])


def test_it_refuses_two_answers_to_a_single_choice_question_with_400(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:3])
    response = client.post(question_url("age_group"), {"age_group": ["18_to_64", "2_to_11"]})
    assert_problem(response, 400, "We could not use that answer")
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:3])


def test_it_refuses_the_same_option_twice_with_400(client, published_rules):
    answer(client, [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")])
    response = client.post(question_url("other_medicines"), {"other_medicines": ["steroid_on_skin"] * 2})
    assert_problem(response, 400, "We could not use that answer")
    assert "other_medicines" not in stored_answers(client)


def test_it_explains_a_none_of_these_chosen_with_another_option_as_a_slip(client, published_rules):
    steps = [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")]
    answer(client, steps)
    response = client.post(question_url("other_medicines"), {"other_medicines": ["none", "steroid_on_skin"]})
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert "You chose “None of these” and other answers." in page
    # The patient's own choices are shown again so they can fix them.
    assert re.search(r'value="none" checked', page)
    assert re.search(r'value="steroid_on_skin" checked', page)
    assert stored_answers(client) == expected_answers(steps)


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_an_unknown_question_with_404(client, published_rules, method):
    answer(client, EARLY_ADULT_STEPS[:2])
    response = getattr(client, method)(question_url("favourite_colour"), {"favourite_colour": "blue"})
    assert_problem(response, 404, "We could not find that question")
    assert 'href="/check/question/age_group/"' in text(response)  # on to the next question
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_a_question_hidden_by_skip_logic_with_404(client, published_rules, method):
    steps = [("urgent_symptoms", "no"), ("condition", "atopic_dermatitis"), ("age_group", "2_to_11")]
    answer(client, steps)
    response = getattr(client, method)(question_url("pregnancy"), {"pregnancy": "pregnant"})
    assert_problem(response, 404, "does not apply")
    assert stored_answers(client) == expected_answers(steps)


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_answers_a_step_skipped_by_url_with_409(client, published_rules, method):
    client.get("/check/")  # the visit has started
    answer(client, [("urgent_symptoms", "no")])
    fifth = shown_questions(published_rules, {})[4]
    response = getattr(client, method)(question_url(fifth.id), {fifth.id: fifth.option_ids[0]})
    assert_problem(response, 409, "Please answer the earlier questions first")
    assert 'href="/check/question/condition/"' in text(response)
    assert stored_answers(client) == {"urgent_symptoms": ["no"]}


def test_it_answers_a_skipped_step_of_a_just_started_visit_with_409(client, published_rules):
    client.get("/check/")
    assert_problem(client.get(question_url("condition")), 409, "Please answer the earlier questions first")


@pytest.mark.parametrize("url", ["/check/answers/", "/check/result/", "/check/result/print/"])
def test_it_answers_the_end_pages_before_any_answer_with_409(client, published_rules, url):
    assert_problem(client.get(url), 409, "There are no answers yet")


@pytest.mark.parametrize("url", ["/check/answers/", "/check/result/", "/check/result/print/"])
def test_it_answers_the_end_pages_of_an_unfinished_visit_with_409(client, published_rules, url):
    answer(client, EARLY_ADULT_STEPS)
    response = client.get(url)
    assert_problem(response, 409, "Some questions still need an answer")
    assert 'href="/check/question/weakened_immunity/"' in text(response)
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS)


def test_it_refuses_an_answer_without_its_csrf_token_with_403_and_keeps_the_answers(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = strict.post(question_url("age_group"), {"age_group": "18_to_64"})
    assert_problem(response, 403, "We could not save that answer")
    assert stored_answers(strict) == expected_answers(EARLY_ADULT_STEPS[:2])


def test_it_accepts_an_answer_with_its_csrf_token(client, published_rules):
    strict = Client(enforce_csrf_checks=True)
    strict.get(FIRST_QUESTION)
    token = strict.cookies["csrftoken"].value
    response = strict.post(FIRST_QUESTION, {"urgent_symptoms": "no", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert stored_answers(strict) == {"urgent_symptoms": ["no"]}


def expire_the_session(client: Client) -> None:
    """The browser still sends a session cookie, but the server no longer accepts it (too old)."""
    client.cookies[settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME] = "a-session-that-has-expired"


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_explains_an_expired_session_on_a_later_question_with_400(client, published_rules, method):
    expire_the_session(client)
    response = getattr(client, method)(question_url("age_group"), {"age_group": "18_to_64"})
    assert_problem(response, 400, "Your answers are no longer here")
    assert 'href="/check/"' in text(response)
    assert stored_answers(client) == {}


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_first_visit_to_a_question_link_is_asked_to_start_the_check_not_told_answers_expired(
    client, published_rules, method
):
    response = getattr(client, method)(question_url("age_group"), {"age_group": "18_to_64"})
    assert_problem(response, 400, "Start the check")
    assert "no longer here" not in text(response)
    assert 'href="/check/"' in text(response)
    assert stored_answers(client) == {}


@pytest.mark.parametrize("question_id", ["pregnancy", "breastfeeding", "amount", "side_effects"])
def test_it_explains_an_expired_session_on_a_question_that_earlier_answers_reveal_with_400(
    client, published_rules, question_id
):
    expire_the_session(client)
    question = published_rules.question(question_id)
    response = client.post(question_url(question_id), {question_id: question.option_ids[-1]})
    assert_problem(response, 400, "Your answers are no longer here")
    assert "does not apply" not in text(response)


def test_it_keeps_the_answers_that_still_apply_when_a_question_is_withdrawn_mid_visit(client, published_rules):
    steps = [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")]
    answer(client, steps)
    Question.objects.filter(identifier="breastfeeding").update(active=False)
    Rule.objects.filter(identifier="breastfeeding").update(active=False)
    # The test patient written for that rule would block the publish, as it should; retire it too.
    Scenario.objects.filter(name__startswith="Fires breastfeeding").update(active=False)
    publish(note="Breastfeeding question withdrawn")

    response = client.get(question_url("other_medicines"))
    assert response.status_code == 200
    assert "updated the questions" in text(response)
    kept = {q: v for q, v in expected_answers(steps).items() if q != "breastfeeding"}
    assert stored_answers(client) == kept
    assert patient_session(client)[SESSION_KEY]["version"] == published_rules.version + 1

    again = client.get(question_url("other_medicines"))
    assert "updated the questions" not in text(again)
    assert stored_answers(client) == kept


def test_it_drops_an_answer_whose_option_was_removed_mid_visit_and_asks_it_again(client, published_rules):
    steps = [("urgent_symptoms", "no"), ("condition", "other"), ("age_group", "18_to_64"), ("allergy", "no")]
    answer(client, steps)
    Option.objects.filter(question__identifier="condition", identifier="other").delete()
    publish(note="Option withdrawn")

    response = client.get("/check/")
    assert response["Location"] == "/check/question/condition/"
    page = text(client.get(response["Location"]))
    assert "updated the questions" in page
    assert 'value="other"' not in page
    assert stored_answers(client) == {q: v for q, v in expected_answers(steps).items() if q != "condition"}
    assert "updated the questions" not in text(client.get(question_url("condition")))


def test_it_tells_about_updated_questions_once_even_after_a_redirect(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:3])
    Option.objects.filter(question__identifier="condition", identifier="other").delete()
    publish(note="Option withdrawn")
    response = client.post(question_url("allergy"), {"allergy": "no"})
    assert response.status_code == 302
    assert "updated the questions" in text(client.get(response["Location"]))
    assert "updated the questions" not in text(client.get(response["Location"]))


def test_it_refuses_an_oversized_body_with_413(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    response = client.post(question_url("age_group"), {"age_group": "x" * 200_000})
    assert response.status_code == 413
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


def test_it_refuses_too_many_fields_with_400(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    fields = {f"field{i}": "x" for i in range(250)} | {"age_group": "18_to_64"}
    response = client.post(question_url("age_group"), fields)
    assert response.status_code == 400
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


@pytest.mark.parametrize(
    "body",
    [b"condition=\xff\xfe", b"condition=%FF%FE%80", b"\xff\xfe=atopic_dermatitis", b"condition=vitiligo\xc3"],
    ids=["raw-value", "escaped-value", "raw-name", "truncated-sequence"],
)
def test_it_does_not_fail_on_a_body_with_invalid_utf8(client, published_rules, body):
    answer(client, EARLY_ADULT_STEPS[:1])
    response = client.post(question_url("condition"), data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in {200, 400}
    assert "condition" not in stored_answers(client)
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:1])


def test_it_answers_a_head_request_for_a_question_step(client, published_rules):
    response = client.head(FIRST_QUESTION)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("put", FIRST_QUESTION),
        ("delete", FIRST_QUESTION),
        ("put", "/"),
        ("post", "/"),
        ("put", "/check/"),
        ("post", "/check/answers/"),
        ("post", "/check/result/"),
        ("put", "/check/result/print/"),
    ],
)
def test_it_answers_a_method_that_is_not_allowed_with_405(client, published_rules, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 405


# ---------------------------------------------------------------------------------------------
# 7. Changing an earlier answer
# ---------------------------------------------------------------------------------------------


def test_it_drops_only_the_answers_that_skip_logic_now_hides_when_an_answer_changes(client, published_rules):
    steps = [*EARLY_ADULT_STEPS, ("weakened_immunity", "no"), ("other_medicines", ["steroid_on_skin"])]
    answer(client, steps)
    response = client.post(question_url("age_group"), {"age_group": "2_to_11"})
    assert response.status_code == 302
    assert response["Location"] == "/check/question/infection_now/"
    expected = expected_answers(steps)
    expected["age_group"] = ["2_to_11"]
    del expected["pregnancy"], expected["breastfeeding"]
    assert stored_answers(client) == expected


def test_it_asks_the_revealed_questions_again_after_changing_back(client, published_rules):
    answer(client, [*EARLY_ADULT_STEPS, ("weakened_immunity", "no")])
    answer(client, [("age_group", "2_to_11")])
    response = client.post(question_url("age_group"), {"age_group": "18_to_64"})
    assert response["Location"] == "/check/question/pregnancy/"
    assert "pregnancy" not in stored_answers(client)


# ---------------------------------------------------------------------------------------------
# 8. Check your answers, and changing an answer from there
# ---------------------------------------------------------------------------------------------


def test_it_lists_every_shown_answer_with_a_change_link(client, published_rules):
    asked = complete(client, age_group="2_to_11", other_medicines=["steroid_on_skin", "biologic_injections"])
    response = client.get("/check/answers/")
    assert response.status_code == 200
    page = text(response)
    assert "pregnancy" not in asked
    for question_id, value in asked.items():
        question = published_rules.question(question_id)
        assert escape(question.text) in page
        for option_id in as_list(value):
            assert escape(question.option(option_id).label) in page
        assert f'href="/check/question/{question_id}/?change=1"' in page
    assert page.count('?change=1" hx-get') == len(asked)
    assert "/check/question/pregnancy/" not in page
    assert 'href="/check/result/"' in page


def test_it_goes_back_to_check_your_answers_from_a_change_link(client, published_rules):
    complete(client)
    page = text(client.get(question_url("condition", change=True)))
    assert re.search(r'<a class="back-link" href="/check/answers/"', page)
    assert 'action="/check/question/condition/?change=1"' in page


def test_it_returns_to_check_your_answers_after_a_change(client, published_rules):
    complete(client)
    response = client.post(question_url("condition", change=True), {"condition": "vitiligo"})
    assert response.status_code == 302
    # The changed row takes focus: by its fragment without JavaScript.
    assert response["Location"] == "/check/answers/?changed=condition#answer-condition"
    page = text(client.get(response["Location"]))
    assert re.search(r'<div class="summary-row" id="answer-condition" tabindex="-1" data-focus-on-swap>', page)
    assert page.count("data-focus-on-swap") == 1
    assert stored_answers(client)["condition"] == ["vitiligo"]


def test_it_asks_a_question_revealed_by_a_change_before_returning(client, published_rules):
    complete(client, age_group="2_to_11", treatment_stage="not_started")
    response = client.post(question_url("age_group", change=True), {"age_group": "18_to_64"})
    assert response["Location"] == "/check/question/pregnancy/?change=1"
    response = client.post(response["Location"], {"pregnancy": "no"})
    assert response["Location"] == "/check/question/breastfeeding/?change=1"
    response = client.post(response["Location"], {"breastfeeding": "no"})
    assert response["Location"] == "/check/answers/?changed=breastfeeding#answer-breastfeeding"

    response = client.post(question_url("treatment_stage", change=True), {"treatment_stage": "under_8_weeks"})
    assert response["Location"] == "/check/question/amount/?change=1"
    answer(client, [("amount", "within_limit")], change=True)
    response = answer(client, [("side_effects", ["none"])], change=True)
    assert response["Location"] == "/check/answers/?changed=side_effects#answer-side_effects"
    assert client.get("/check/answers/").status_code == 200


# ---------------------------------------------------------------------------------------------
# 9. The result, for a patient at each level, and the printable result
# ---------------------------------------------------------------------------------------------

PATIENTS: dict[str, tuple[dict[str, Value], str, list[str]]] = {
    # The rule that ended the check leads the page (tests/views/test_ending.py), not a level group.
    "urgent": ({"urgent_symptoms": "yes"}, "urgent", []),
    "stop_and_call": (
        {"side_effects": ["skin_reaction", "infection_signs"]},
        "stop_and_call",
        ["skin-reaction", "infection-signs"],
    ),
    "do_not_use": (
        {"pregnancy": "pregnant", "other_medicines": ["immunosuppressant_tablets"]},
        "do_not_use",
        ["pregnancy", "combined-immunosuppressants"],
    ),
    "talk_first": ({"condition": "psoriasis"}, "talk_first", ["not-approved-condition"]),
    "take_care": ({"age_group": "65_or_over"}, "take_care", ["older-adult"]),
    "none": ({}, "none", []),
    "child": (
        {"age_group": "2_to_11", "condition": "vitiligo"},
        "do_not_use",
        ["vitiligo-under-12", "child-2-to-11"],
    ),
    "every_level_below_urgent": (
        as_form_values(patients.EVERY_LEVEL_BELOW_URGENT),
        "stop_and_call",
        [
            "blood-count-signs",
            "allergy",
            "active-infection",
            "eczema-long-use",
            "eyes-mouth-mucosa",
            "long-term-use",
        ],
    ),
}


@pytest.mark.parametrize(("overrides", "level", "rules"), PATIENTS.values(), ids=PATIENTS.keys())
def test_it_shows_the_result_with_its_level_and_every_fired_rule_most_severe_first(
    client, published_rules, overrides, level, rules
):
    complete(client, **overrides)
    response = client.get("/check/result/")
    assert response.status_code == 200
    page = text(response)
    assert re.search(rf'<h1 [^>]*data-level="{level}"', page)

    groups = result_groups(page)
    assert [rule for _, group_rules in groups for rule in group_rules] == rules
    levels = [group_level for group_level, _ in groups]
    assert levels == sorted(levels, key=SEVERITY_ORDER.index)
    assert len(levels) == len(set(levels))
    outcome = evaluate(published_rules, {q: tuple(v) for q, v in stored_answers(client).items()})
    for group_level, group_rules in groups:
        assert all(next(r for r in outcome.fired if r.id == rule).level == group_level for rule in group_rules)
    if rules:
        assert levels[0] == level

    # What every result shows, whatever fired.
    assert URGENT_SIGNS_TITLE in page
    assert URGENT_SIGNS_LINE in page
    assert "How to use the cream" in page
    assert "This check does not replace your clinician" in page
    assert re.search(r'<a [^>]*href="/check/result/print/"[^>]*>Print this result</a>', page)
    assert '<a href="/check/clear/?next=%2Fcheck%2Fresult%2F">Clear my answers</a>' in page
    assert "Clear my answers" in page


def test_it_groups_the_result_in_severity_order_across_the_four_levels_below_urgent(client, published_rules):
    overrides, _, _ = PATIENTS["every_level_below_urgent"]
    complete(client, **overrides)
    levels = [level for level, _ in result_groups(text(client.get("/check/result/")))]
    assert levels == SEVERITY_ORDER[1:]


def test_it_never_calls_a_result_without_cautions_safe(client, published_rules):
    complete(client)
    page = text(client.get("/check/result/"))
    assert re.search(r'data-level="none"', page)
    assert "Your answers did not match any caution in this check" in page
    assert "does not mean there is nothing to watch for" in page
    assert not re.search(r"\bsafe\b", page, re.IGNORECASE)
    assert 'class="level-group' not in page
    printable = text(client.get("/check/result/print/"))
    assert not re.search(r"\bsafe\b", printable, re.IGNORECASE)
    assert "the answers did not match any caution" in printable


@pytest.mark.parametrize("key", ["do_not_use", "every_level_below_urgent", "none"])
def test_it_prints_every_answer_and_the_fired_rules(client, published_rules, key):
    overrides, level, rules = PATIENTS[key]
    asked = complete(client, **overrides)
    response = client.get("/check/result/print/")
    assert response.status_code == 200
    page = text(response)
    assert re.search(rf'<h1 [^>]*data-level="{level}"', page)
    answers_block = page.split("Your answers", 1)[1].split("</dl>", 1)[0]
    for question_id, value in asked.items():
        question = published_rules.question(question_id)
        assert escape(question.text) in answers_block
        for option_id in as_list(value):
            assert escape(question.option(option_id).label) in answers_block
    assert answers_block.count("<dt>") == len(asked)
    assert re.findall(r'data-rule="([a-z0-9_-]+)"', page) == rules
    assert NOT_A_CLINICIAN in page
    assert f"Rule set version {published_rules.version}" in page


def test_it_returns_the_result_as_a_partial_to_htmx(client, published_rules):
    complete(client, urgent_symptoms="yes")
    response = client.get("/check/result/", headers=HTMX)
    page = text(response)
    assert "<html" not in page
    assert "<title>Your result" in page
    assert 'data-rule="urgent-symptoms"' in page
    assert response["HX-Push-Url"] == "/check/result/"


# ---------------------------------------------------------------------------------------------
# 10. Clear my answers
# ---------------------------------------------------------------------------------------------


def test_it_clears_the_answers_and_goes_back_to_the_start(client, published_rules):
    complete(client)
    response = client.post("/check/clear/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert SESSION_KEY not in patient_session(client)
    assert stored_answers(client) == {}
    page = text(client.get("/"))
    assert "Your answers have been cleared" in page
    assert "Start now" in page
    assert client.get("/check/result/").status_code == 409


def test_clearing_answers_with_get_only_asks_to_confirm_and_clears_nothing(client, published_rules):
    answer(client, EARLY_ADULT_STEPS[:2])
    response = client.get("/check/clear/?next=/check/question/age_group/")
    assert response.status_code == 200
    page = text(response)
    assert "Clear your answers?" in page
    assert re.search(r'<form method="post" action="/check/clear/">', page)
    assert 'href="/check/question/age_group/"' in page
    assert stored_answers(client) == expected_answers(EARLY_ADULT_STEPS[:2])


def test_the_confirmation_never_sends_a_patient_back_to_another_site(client, published_rules):
    page = text(client.get("/check/clear/?next=https://example.org/"))
    assert not re.search(r'<a href="[^"]*example\.org', page)
    assert '<a href="/">No, keep my answers and go back</a>' in page


# ---------------------------------------------------------------------------------------------
# 11. Query count
# ---------------------------------------------------------------------------------------------


def test_it_shows_and_saves_a_question_step_with_at_most_one_query(
    client, published_rules, django_assert_max_num_queries
):
    answer(client, EARLY_ADULT_STEPS[:2])
    client.get(question_url("age_group"))  # warm-up: the rule set is built and cached
    with django_assert_max_num_queries(1):
        response = client.get(question_url("age_group"))
    assert response.status_code == 200
    with django_assert_max_num_queries(1):
        response = client.get(question_url("age_group"), headers=HTMX)
    assert response.status_code == 200
    with django_assert_max_num_queries(1):
        response = client.post(question_url("age_group"), {"age_group": "18_to_64"})
    assert response.status_code == 302


def test_it_shows_the_result_with_at_most_one_query(client, published_rules, django_assert_max_num_queries):
    complete(client)
    client.get("/check/result/")
    with django_assert_max_num_queries(1):
        assert client.get("/check/result/").status_code == 200


# ---------------------------------------------------------------------------------------------
# 12. Nothing patient-identifying in logs
# ---------------------------------------------------------------------------------------------


def test_it_logs_no_answer_during_a_whole_visit(client, published_rules, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    answered = {
        "pregnancy": "pregnant",
        "other_medicines": ["immunosuppressant_tablets", "strong_cyp3a4_inhibitors"],
        "infection_history": ["tuberculosis", "hepatitis_b_or_c"],
        "health_conditions": ["heart_or_stroke"],
        "skin_to_treat": ["broken_or_infected"],
        "side_effects": ["bleeding_bruising_tiredness"],
    }
    secrets = [value for values in answered.values() for value in as_list(values)]
    with CaptureQueriesContext(connection):  # also logs every SQL statement at DEBUG
        complete(client, **answered)
        # Slips and refusals are logged by Django (4xx); they must not carry the answer either.
        client.post(question_url("other_medicines"), {"other_medicines": ["none", "immunosuppressant_tablets"]})
        client.post(question_url("other_medicines"), {"other_medicines": "tuberculosis"})
        client.post(question_url("pregnancy", change=True), {"pregnancy": ["pregnant", "no"]})
        client.get("/check/answers/")
        client.get("/check/result/")
        client.get("/check/result/print/")
        client.post("/check/clear/")
    assert caplog.records, "nothing was captured, so this test proves nothing"
    for record in caplog.records:
        message = record.getMessage()
        for secret in secrets:
            assert secret not in message, (record.name, message)


# ---------------------------------------------------------------------------------------------
# Sanity: the test data matches the published default rules.
# ---------------------------------------------------------------------------------------------


def test_it_uses_a_healthy_adult_that_fires_no_rule(published_rules: RuleSet):
    answers = {q: tuple(as_list(v)) for q, v in HEALTHY_ADULT.items()}
    assert evaluate(published_rules, answers).fired == ()
    assert [q.id for q in shown_questions(published_rules, answers)] == list(HEALTHY_ADULT)
