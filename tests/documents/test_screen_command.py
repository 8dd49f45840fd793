"""The `screen` management command against the published default rules, with patients from facts.md."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from screening.engine import RuleSet
from screening.models import PublishedRuleSet
from tests.support import patients
from tests.support.patients import as_form_values

# The level of each default rule, as /work/shared/clinical/facts.md gives it.
RULE_LEVEL = {
    "urgent-symptoms": "urgent",
    "allergy": "do_not_use",
    "allergy-unsure": "talk_first",
    "pregnancy": "do_not_use",
    "breastfeeding": "do_not_use",
    "weakened-immunity": "do_not_use",
    "weakened-immunity-unsure": "talk_first",
    "combined-immunosuppressants": "do_not_use",
    "other-skin-medicines": "talk_first",
    "cyp3a4-inhibitors": "talk_first",
    "active-infection": "talk_first",
    "infection-while-using": "stop_and_call",
    "infection-history": "talk_first",
    "heart-clot-risk": "talk_first",
    "cancer-history": "talk_first",
    "diabetes-or-lung-disease": "talk_first",
    "high-cholesterol": "take_care",
    "older-adult": "take_care",
    "older-adult-with-conditions": "talk_first",
    "child-2-to-11": "talk_first",
    "under-2": "do_not_use",
    "vitiligo-under-12": "do_not_use",
    "not-approved-condition": "talk_first",
    "broken-or-infected-skin": "talk_first",
    "eyes-mouth-mucosa": "take_care",
    "large-area": "talk_first",
    "vitiligo-large-area": "talk_first",
    "area-unsure": "take_care",
    "long-term-use": "take_care",
    "eczema-long-use": "talk_first",
    "over-weekly-limit": "talk_first",
    "skin-reaction": "stop_and_call",
    "infection-signs": "stop_and_call",
    "shingles-signs": "stop_and_call",
    "blood-count-signs": "stop_and_call",
}

# An adult with eczema, a few weeks into treatment, with nothing to report: the base of most patients.
HEALTHY_ADULT: dict[str, Any] = dict(as_form_values(patients.HEALTHY_ADULT))

# A child, someone 65 or over, or a patient who has not started yet is never asked some questions.
CHILD_QUESTIONS_SKIPPED = ("pregnancy", "breastfeeding")
OLDER_ADULT_QUESTIONS_SKIPPED = CHILD_QUESTIONS_SKIPPED
NOT_STARTED_QUESTIONS_SKIPPED = ("amount", "side_effects")


def patient(*, skip: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """The healthy adult with some answers changed and some questions not answered."""
    answers = {question: value for question, value in HEALTHY_ADULT.items() if question not in skip}
    answers.update(changes)
    return answers


SCENARIOS = [
    # (name, answers, overall, fired rules in output order, ignored)
    ("healthy adult with eczema, nothing to report", patient(), "none", [], []),
    (
        "adult with eczema who has not started yet",
        patient(skip=NOT_STARTED_QUESTIONS_SKIPPED, treatment_stage="not_started"),
        "none",
        [],
        [],
    ),
    ("teenager with vitiligo on the face", patient(condition="vitiligo", age_group="12_to_17"), "none", [], []),
    ("pregnant adult", patient(pregnancy="pregnant"), "do_not_use", ["pregnancy"], []),
    ("adult who could be pregnant", patient(pregnancy="could_be"), "do_not_use", ["pregnancy"], []),
    ("adult trying for a baby", patient(pregnancy="trying"), "do_not_use", ["pregnancy"], []),
    ("breastfeeding mother", patient(breastfeeding="yes"), "do_not_use", ["breastfeeding"], []),
    (
        "7-year-old with vitiligo, pregnancy answered by mistake",
        patient(
            skip=("breastfeeding", *NOT_STARTED_QUESTIONS_SKIPPED),
            condition="vitiligo",
            age_group="2_to_11",
            treatment_stage="not_started",
        ),
        "do_not_use",
        ["vitiligo-under-12", "child-2-to-11"],
        ["pregnancy"],
    ),
    (
        "7-year-old with eczema",
        patient(skip=CHILD_QUESTIONS_SKIPPED, age_group="2_to_11"),
        "talk_first",
        ["child-2-to-11"],
        [],
    ),
    (
        "toddler under 2 with eczema",
        patient(
            skip=(*CHILD_QUESTIONS_SKIPPED, *NOT_STARTED_QUESTIONS_SKIPPED),
            age_group="under_2",
            treatment_stage="not_started",
        ),
        "do_not_use",
        ["under-2"],
        [],
    ),
    (
        "adult on azathioprine tablets, unsure about immunity",
        patient(weakened_immunity="not_sure", other_medicines=["immunosuppressant_tablets"]),
        "do_not_use",
        ["combined-immunosuppressants", "weakened-immunity-unsure"],
        [],
    ),
    (
        "adult on a biologic and a JAK inhibitor",
        patient(other_medicines=["jak_inhibitor_tablets", "biologic_injections"]),
        "do_not_use",
        ["combined-immunosuppressants"],
        [],
    ),
    (
        "adult with HIV and a weak immune system",
        patient(weakened_immunity="yes"),
        "do_not_use",
        ["weakened-immunity"],
        [],
    ),
    ("adult allergic to the cream", patient(allergy="yes"), "do_not_use", ["allergy"], []),
    ("adult unsure about an allergy", patient(allergy="not_sure"), "talk_first", ["allergy-unsure"], []),
    (
        "adult using a steroid cream",
        patient(other_medicines="steroid_on_skin"),
        "talk_first",
        ["other-skin-medicines"],
        [],
    ),
    (
        "adult taking clarithromycin",
        patient(other_medicines=["strong_cyp3a4_inhibitors"]),
        "talk_first",
        ["cyp3a4-inhibitors"],
        [],
    ),
    (
        "adult on a steroid cream, a moisturiser and clarithromycin",
        patient(other_medicines=["strong_cyp3a4_inhibitors", "other_skin_products", "steroid_on_skin"]),
        "talk_first",
        ["other-skin-medicines", "cyp3a4-inhibitors"],
        [],
    ),
    ("adult with psoriasis", patient(condition="psoriasis"), "talk_first", ["not-approved-condition"], []),
    ("adult not sure what the rash is", patient(condition="not_sure"), "talk_first", ["not-approved-condition"], []),
    (
        "70-year-old with diabetes",
        patient(skip=OLDER_ADULT_QUESTIONS_SKIPPED, age_group="65_or_over", health_conditions=["diabetes"]),
        "talk_first",
        ["diabetes-or-lung-disease", "older-adult-with-conditions", "older-adult"],
        [],
    ),
    (
        "70-year-old smoker, otherwise well",
        patient(skip=OLDER_ADULT_QUESTIONS_SKIPPED, age_group="65_or_over", health_conditions=["smoker"]),
        "talk_first",
        ["heart-clot-risk", "older-adult"],
        [],
    ),
    (
        "healthy 70-year-old",
        patient(skip=OLDER_ADULT_QUESTIONS_SKIPPED, age_group="65_or_over"),
        "take_care",
        ["older-adult"],
        [],
    ),
    (
        "70-year-old who answered the pregnancy questions anyway",
        patient(age_group="65_or_over"),
        "take_care",
        ["older-adult"],
        ["pregnancy", "breastfeeding"],
    ),
    (
        "adult with high cholesterol",
        patient(health_conditions=["high_cholesterol"]),
        "take_care",
        ["high-cholesterol"],
        [],
    ),
    ("adult smoker", patient(health_conditions=["smoker"]), "talk_first", ["heart-clot-risk"], []),
    (
        "adult after a heart attack and a past cancer",
        patient(health_conditions=["cancer", "heart_or_stroke"]),
        "talk_first",
        ["heart-clot-risk", "cancer-history"],
        [],
    ),
    (
        "adult with asthma-like lung disease",
        patient(health_conditions=["lung_disease"]),
        "talk_first",
        ["diabetes-or-lung-disease"],
        [],
    ),
    (
        "adult who had tuberculosis",
        patient(infection_history=["tuberculosis"]),
        "talk_first",
        ["infection-history"],
        [],
    ),
    (
        "adult who had shingles and hepatitis B",
        patient(infection_history=["hepatitis_b_or_c", "shingles"]),
        "talk_first",
        ["infection-history"],
        [],
    ),
    ("adult not sure about an infection", patient(infection_now="not_sure"), "talk_first", ["active-infection"], []),
    (
        "adult with urgent symptoms and a skin reaction",
        patient(urgent_symptoms="yes", side_effects=["skin_reaction"]),
        "urgent",
        ["urgent-symptoms"],
        [question for question in HEALTHY_ADULT if question != "urgent_symptoms"],
    ),
    ("adult with urgent symptoms only answered", {"urgent_symptoms": "yes"}, "urgent", ["urgent-symptoms"], []),
    (
        "adult with infection signs and bruising after starting",
        patient(side_effects=["bleeding_bruising_tiredness", "infection_signs"]),
        "stop_and_call",
        ["infection-signs", "blood-count-signs"],
        [],
    ),
    (
        "adult with broken skin and perhaps an infection",
        patient(infection_now="not_sure", skin_to_treat=["broken_or_infected"]),
        "talk_first",
        ["active-infection", "broken-or-infected-skin"],
        [],
    ),
    (
        "adult treating eczema near the eyes",
        patient(skin_to_treat=["near_eyes_mouth_genitals"]),
        "take_care",
        ["eyes-mouth-mucosa"],
        [],
    ),
    (
        "adult with vitiligo over 10 to 20 palms",
        patient(condition="vitiligo", area_size="10_to_20_palms"),
        "talk_first",
        ["vitiligo-large-area"],
        [],
    ),
    ("adult with eczema over 10 to 20 palms", patient(area_size="10_to_20_palms"), "none", [], []),
    (
        "adult with eczema over more than 20 palms",
        patient(area_size="more_than_20_palms"),
        "talk_first",
        ["large-area"],
        [],
    ),
    (
        "adult with vitiligo over more than 20 palms",
        patient(condition="vitiligo", area_size="more_than_20_palms"),
        "talk_first",
        ["vitiligo-large-area"],
        [],
    ),
    ("adult not sure of the area", patient(area_size="not_sure"), "take_care", ["area-unsure"], []),
    ("adult using more than a tube a week", patient(amount="over_limit"), "talk_first", ["over-weekly-limit"], []),
    ("adult not sure how much they use", patient(amount="not_sure"), "talk_first", ["over-weekly-limit"], []),
    (
        "adult with eczema using it for 8 weeks or more",
        patient(treatment_stage="8_weeks_or_more"),
        "talk_first",
        ["eczema-long-use", "long-term-use"],
        [],
    ),
    (
        "adult with vitiligo using it for 8 weeks or more",
        patient(condition="vitiligo", treatment_stage="8_weeks_or_more"),
        "take_care",
        ["long-term-use"],
        [],
    ),
    (
        "adult with an infection a few weeks into the cream",
        patient(infection_now="yes"),
        "stop_and_call",
        ["infection-while-using", "active-infection"],
        [],
    ),
    (
        "adult with an infection who has not started",
        patient(skip=NOT_STARTED_QUESTIONS_SKIPPED, infection_now="yes", treatment_stage="not_started"),
        "talk_first",
        ["active-infection"],
        [],
    ),
    (
        "adult with new cold sores after starting",
        patient(side_effects=["shingles_or_cold_sores"]),
        "stop_and_call",
        ["shingles-signs"],
        [],
    ),
    (
        "adult not started yet who answered amount and side effects",
        patient(treatment_stage="not_started", amount="over_limit", side_effects=["skin_reaction"]),
        "none",
        [],
        ["amount", "side_effects"],
    ),
    (
        "pregnant adult, long-term use, a skin reaction, treating near the eyes",
        patient(
            pregnancy="pregnant",
            infection_now="yes",
            skin_to_treat=["near_eyes_mouth_genitals"],
            treatment_stage="8_weeks_or_more",
            side_effects=["skin_reaction"],
        ),
        "stop_and_call",
        [
            "infection-while-using",
            "skin-reaction",
            "pregnancy",
            "active-infection",
            "eczema-long-use",
            "eyes-mouth-mucosa",
            "long-term-use",
        ],
        [],
    ),
]


def expected_output(overall: str, fired: list[str], ignored: list[str]) -> dict[str, Any]:
    return {
        "overall": overall,
        "outcomes": [{"rule": rule, "level": RULE_LEVEL[rule]} for rule in fired],
        "ignored": ignored,
    }


def run_screen(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("screen", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def screen_file(tmp_path: Path, content: str | bytes) -> tuple[str, str]:
    path = tmp_path / "answers.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return run_screen(str(path))


def screen_stdin(monkeypatch: pytest.MonkeyPatch, content: str, *args: str) -> tuple[str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(content))
    return run_screen(*args)


@pytest.mark.parametrize(
    ("answers", "overall", "fired", "ignored"),
    [pytest.param(*scenario[1:], id=scenario[0]) for scenario in SCENARIOS],
)
def test_it_screens_a_patient_as_facts_md_says(
    published_rules: RuleSet,
    tmp_path: Path,
    answers: dict[str, Any],
    overall: str,
    fired: list[str],
    ignored: list[str],
) -> None:
    out, err = screen_file(tmp_path, json.dumps(answers))
    assert err == ""
    assert json.loads(out) == expected_output(overall, fired, ignored)


def test_the_scenarios_cover_enough_patients_and_every_level() -> None:
    assert len(SCENARIOS) >= 18
    assert {scenario[2] for scenario in SCENARIOS} == {
        "none",
        "take_care",
        "talk_first",
        "do_not_use",
        "stop_and_call",
        "urgent",
    }


def test_it_prints_indented_json_on_stdout(published_rules: RuleSet, tmp_path: Path) -> None:
    out, _err = screen_file(tmp_path, json.dumps(patient(allergy="yes")))
    assert out == json.dumps(expected_output("do_not_use", ["allergy"], []), indent=2) + "\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param("{not json", "not valid JSON", id="invalid JSON"),
        pytest.param("", "not valid JSON", id="empty input"),
        pytest.param('{"allergy": "yes",}', "not valid JSON", id="trailing comma"),
        pytest.param('["urgent_symptoms", "yes"]', "must be a JSON object", id="a list instead of an object"),
        pytest.param('"yes"', "must be a JSON object", id="a string instead of an object"),
        pytest.param('{"favourite_colour": "blue"}', "unknown question 'favourite_colour'", id="unknown question"),
        pytest.param('{"urgent_symptoms": "maybe"}', "'maybe' is not an option", id="unknown option"),
        pytest.param(
            '{"age_group": ["18_to_64", "65_or_over"]}', "takes one answer only", id="two options for a single choice"
        ),
        pytest.param(
            '{"other_medicines": ["none", "steroid_on_skin"]}',
            "cannot be chosen together",
            id="none together with another option",
        ),
        pytest.param('{"other_medicines": ["steroid_on_skin", "steroid_on_skin"]}', "twice", id="repeated option"),
        pytest.param('{"other_medicines": []}', "Choose an answer", id="empty list"),
        pytest.param('{"allergy": null}', "must be option identifiers", id="null answer"),
        pytest.param('{"allergy": 1}', "must be option identifiers", id="number answer"),
        pytest.param('{"allergy": {"yes": true}}', "must be option identifiers", id="object answer"),
        pytest.param(
            '{"age_group": "2_to_11", "pregnancy": "maybe"}', "'maybe' is not an option", id="bad hidden answer"
        ),
    ],
)
def test_it_rejects_bad_input_with_one_line_on_stderr_and_exit_code_2(
    published_rules: RuleSet, tmp_path: Path, content: str, words: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "answers.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(path), stdout=out, stderr=err)
    assert exit_info.value.code == 2
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith("screen: ")
    assert words in lines[0]


def test_it_rejects_bad_input_from_stdin_too(published_rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit) as exit_info:
        screen_stdin(monkeypatch, '["not", "an", "object"]', "-")
    assert exit_info.value.code == 2


def test_it_reports_a_missing_file_on_one_line_with_exit_code_2(published_rules: RuleSet, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    missing = tmp_path / "missing.json"
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(missing), stdout=out, stderr=err)
    assert exit_info.value.code == 2
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"screen: cannot read {missing}")


def test_it_reports_a_directory_given_as_the_file_with_exit_code_2(published_rules: RuleSet, tmp_path: Path) -> None:
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(tmp_path), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert err.getvalue().startswith("screen: cannot read")
    assert len(err.getvalue().splitlines()) == 1


def test_it_rejects_a_file_that_is_not_utf8_with_exit_code_2(published_rules: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_bytes('{"condition": "psoriasis", "age_group": "18_to_64 \xe9"}'.encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(path), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert err.getvalue().startswith("screen: ")


def test_it_fails_with_exit_code_2_when_nothing_is_published(published_rules: RuleSet, tmp_path: Path) -> None:
    # Published versions refuse deletion through the ORM; empty the table as a fresh database would be.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {PublishedRuleSet._meta.db_table}")
    err = io.StringIO()
    path = tmp_path / "answers.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(path), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert err.getvalue() == "screen: no rule set is published yet: run 'manage.py ensure_default_rules'\n"


@pytest.mark.parametrize(
    "answers",
    [
        {"age_group": "65_or_over", "other_medicines": "steroid_on_skin"},
        {"age_group": ["65_or_over"], "other_medicines": ["steroid_on_skin"]},
        {"age_group": "65_or_over", "other_medicines": ["steroid_on_skin"]},
    ],
    ids=["plain options", "lists of one option", "mixed"],
)
def test_it_accepts_an_option_alone_or_in_a_list(
    published_rules: RuleSet, tmp_path: Path, answers: dict[str, Any]
) -> None:
    out, _err = screen_file(tmp_path, json.dumps(answers))
    assert json.loads(out) == expected_output("talk_first", ["other-skin-medicines", "older-adult"], [])


def test_it_reads_the_answers_from_stdin_given_a_dash(
    published_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, err = screen_stdin(monkeypatch, json.dumps(patient(breastfeeding="yes")), "-")
    assert err == ""
    assert json.loads(out) == expected_output("do_not_use", ["breastfeeding"], [])


def test_it_reads_the_answers_from_stdin_without_an_argument(
    published_rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _err = screen_stdin(monkeypatch, '{"urgent_symptoms": ["yes"]}')
    assert json.loads(out) == expected_output("urgent", ["urgent-symptoms"], [])


def test_it_gives_the_same_result_from_a_file_and_from_stdin(
    published_rules: RuleSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(
        patient(skip=OLDER_ADULT_QUESTIONS_SKIPPED, age_group="65_or_over", health_conditions=["diabetes", "smoker"])
    )
    from_file, _ = screen_file(tmp_path, text)
    from_stdin, _ = screen_stdin(monkeypatch, text, "-")
    assert from_file == from_stdin
    assert json.loads(from_file) == expected_output(
        "talk_first", ["heart-clot-risk", "diabetes-or-lung-disease", "older-adult-with-conditions", "older-adult"], []
    )


def test_an_empty_object_means_nothing_to_report(published_rules: RuleSet, tmp_path: Path) -> None:
    out, _err = screen_file(tmp_path, "{}")
    assert json.loads(out) == expected_output("none", [], [])


# ---------------------------------------------------------------------------------------------
# A FHIR QuestionnaireResponse instead of the command's own JSON
# ---------------------------------------------------------------------------------------------


def test_it_screens_a_questionnaire_response_as_it_screens_the_same_answers(
    published_rules: RuleSet, tmp_path: Path
) -> None:
    from screening.engine import walk
    from screening.handoff import questionnaire_response
    from tests.support.browser import MANY_CAUTIONS

    response = questionnaire_response(published_rules, walk(published_rules, MANY_CAUTIONS).counted)
    from_response, err = screen_file(tmp_path, json.dumps(response))
    from_answers, _ = screen_file(tmp_path, json.dumps(patients.as_lists(MANY_CAUTIONS)))
    assert from_response == from_answers
    assert err == ""
    assert len(json.loads(from_response)["outcomes"]) >= 10


def test_it_reads_answers_nested_in_items_and_answers_of_a_questionnaire_response(
    published_rules: RuleSet, tmp_path: Path
) -> None:
    from screening.fhir import questionnaire_url

    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire_url()}|{published_rules.version}",
        "status": "completed",
        "item": [
            {
                "linkId": "group",
                "item": [
                    {
                        "linkId": "urgent_symptoms",
                        "answer": [
                            {
                                "valueCoding": {"code": "no"},
                                "item": [{"linkId": "allergy", "answer": [{"valueCoding": {"code": "yes"}}]}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    out, _ = screen_file(tmp_path, json.dumps(response))
    assert json.loads(out)["overall"] == "do_not_use"
    assert [outcome["rule"] for outcome in json.loads(out)["outcomes"]] == ["allergy"]


@pytest.mark.parametrize(
    ("questionnaire", "words"),
    [
        pytest.param(
            "https://elsewhere.example/Questionnaire/phq-9|1",
            "is for 'https://elsewhere.example/Questionnaire/phq-9'",
            id="another questionnaire",
        ),
        pytest.param(None, "names no questionnaire", id="no questionnaire"),
    ],
)
def test_it_refuses_a_questionnaire_response_for_another_questionnaire_with_one_line_and_exit_code_2(
    published_rules: RuleSet, tmp_path: Path, questionnaire: str | None, words: str
) -> None:
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": []}
    if questionnaire:
        response["questionnaire"] = questionnaire
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(path), stdout=out, stderr=err)
    assert exit_info.value.code == 2
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("screen: ") and words in lines[0]


def test_it_refuses_a_questionnaire_response_it_cannot_read_with_exit_code_2(
    published_rules: RuleSet, tmp_path: Path
) -> None:
    from screening.fhir import questionnaire_url

    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire_url(),
        "item": [{"linkId": "allergy", "answer": [{"valueCoding": {"display": "Yes"}}]}],
    }
    path = tmp_path / "response.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("screen", str(path), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert "valueCoding without a code" in err.getvalue()


def test_it_says_on_stderr_when_a_response_was_made_with_another_version(
    published_rules: RuleSet, tmp_path: Path
) -> None:
    from screening.fhir import questionnaire_url

    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire_url()}|{published_rules.version + 7}",
        "status": "completed",
        "item": [
            {"linkId": "allergy", "answer": [{"valueCoding": {"code": "yes"}}]},
            {"linkId": "a_question_since_removed", "answer": [{"valueCoding": {"code": "yes"}}]},
        ],
    }
    out, err = screen_file(tmp_path, json.dumps(response))
    assert json.loads(out)["overall"] == "do_not_use"
    assert (
        f"screen: the response was made with version {published_rules.version + 7}; "
        f"screening against the live version {published_rules.version}"
    ) in err
    assert "a_question_since_removed" in err
