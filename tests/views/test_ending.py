"""A rule that ends the check, in the web flow: the next page is the result, with and without htmx."""

from __future__ import annotations

import re

from django.test import Client

from tests.support.patients import HEALTHY_ADULT

# ---------------------------------------------------------------------------------------------
# The web flow, without JavaScript and with htmx
# ---------------------------------------------------------------------------------------------

FIRST = "/check/question/urgent_symptoms/"


def test_yes_to_the_warning_signs_goes_straight_to_the_result_without_javascript(
    client: Client, published_rules
) -> None:
    assert client.get("/check/")["Location"] == FIRST
    response = client.post(FIRST, {"urgent_symptoms": "yes"})
    assert response.status_code == 302
    assert response["Location"] == "/check/result/"
    page = client.get("/check/result/").content.decode()
    assert 'data-level="urgent"' in page
    assert 'data-ended-by="urgent-symptoms"' in page
    assert "I answered this by mistake" in page
    assert f'href="{FIRST}"' in page
    # What to do now leads the page, before the warning signs and the way back.
    assert page.index("Call your local emergency number") < page.index("I answered this by mistake")


def test_with_htmx_the_urgent_result_is_the_next_partial_and_its_address_is_pushed(
    client: Client, published_rules
) -> None:
    client.get("/check/")
    response = client.post(FIRST, {"urgent_symptoms": "yes"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/check/result/"
    page = response.content.decode()
    assert 'data-ended-by="urgent-symptoms"' in page
    assert "<html" not in page


def test_an_ended_check_has_no_check_your_answers_page_and_no_later_question(client: Client, published_rules) -> None:
    client.get("/check/")
    client.post(FIRST, {"urgent_symptoms": "yes"})
    assert client.get("/check/answers/")["Location"] == "/check/result/"
    assert client.get("/check/question/condition/")["Location"] == "/check/result/"


def test_changing_the_ending_answer_goes_on_with_the_check_and_loses_nothing(client: Client, published_rules) -> None:
    client.get("/check/")
    for question, options in list(HEALTHY_ADULT.items())[:4]:
        client.post(f"/check/question/{question}/", {question: list(options)})
    client.post(FIRST, {"urgent_symptoms": "yes"})
    assert client.get("/check/result/").status_code == 200
    # "I answered this by mistake": the answer changes, and the check goes on where it was.
    response = client.post(FIRST, {"urgent_symptoms": "no"})
    assert response["Location"] == "/check/question/pregnancy/"
    page = client.get("/check/question/allergy/").content.decode()
    assert re.search(r'value="no" checked', page)


def test_the_printout_of_an_ended_check_says_it_stopped_early_and_why(client: Client, published_rules) -> None:
    client.get("/check/")
    client.post(FIRST, {"urgent_symptoms": "yes"})
    page = client.get("/check/result/print/").content.decode()
    assert "This check stopped early" in page
    assert "the other questions were not asked" in page
    assert 'data-ended-by="urgent-symptoms"' in page


def test_the_urgent_result_in_chinese_is_the_next_page_too(client: Client, published_rules) -> None:
    client.get("/zh-hans/check/")
    response = client.post("/zh-hans/check/question/urgent_symptoms/", {"urgent_symptoms": "yes"})
    assert response["Location"] == "/zh-hans/check/result/"
    page = client.get("/zh-hans/check/result/").content.decode()
    assert 'data-ended-by="urgent-symptoms"' in page
    assert 'lang="zh-hans"' in page
