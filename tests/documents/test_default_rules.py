"""The default rule set as loaded into the database and published."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Model

from screening.defaults import default_document, ensure_default_rules
from screening.engine import RuleSet, ruleset_from_document
from screening.live import current_ruleset
from screening.models import (
    Condition,
    GuidanceSection,
    Option,
    PublishedRuleSet,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
)
from screening.readability import TARGET_GRADE, check_text, reading_grade

FACT_CODES = [f"S{n}" for n in range(1, 12)] + [f"L{n}" for n in range(1, 12)]
PROMISE_WORDS = re.compile(r"\b(safe|safely|safety|guaranteed?|no risk|risk-free|harmless)\b", re.IGNORECASE)


def test_every_fact_is_cited_by_at_least_one_active_published_rule(published_rules: RuleSet) -> None:
    cited = {code for rule in published_rules.rules for code in rule.sources}
    assert [code for code in FACT_CODES if code not in cited] == []


def test_no_patient_text_promises_safety(published_rules: RuleSet) -> None:
    texts = [q.text for q in published_rules.questions] + [q.help_text for q in published_rules.questions]
    texts += [o.label for q in published_rules.questions for o in q.options]
    texts += [t for r in published_rules.rules for t in (r.title, r.message, r.next_steps)]
    texts += [line for s in published_rules.sections for line in (s.title, *s.body)]
    texts += [s.summary for s in published_rules.sources]
    assert [t for t in texts if PROMISE_WORDS.search(t)] == []


def test_loading_the_defaults_again_changes_nothing(published_rules: RuleSet) -> None:
    versions = PublishedRuleSet.objects.count()
    assert ensure_default_rules() is False
    call_command("ensure_default_rules", stdout=io.StringIO())
    assert PublishedRuleSet.objects.count() == versions
    assert current_ruleset().version == published_rules.version


def test_loading_the_defaults_never_overwrites_a_clinicians_edit(published_rules: RuleSet) -> None:
    Rule.objects.filter(identifier="allergy").update(message="A clinician's own wording.")
    ensure_default_rules()
    assert Rule.objects.get(identifier="allergy").message == "A clinician's own wording."


def test_a_warm_server_asks_which_version_is_live_at_most_every_few_tenths_of_a_second(
    published_rules: RuleSet, settings, django_assert_num_queries
) -> None:
    from screening.live import forget_live_ruleset

    settings.RUXGUIDE_LIVE_CHECK_SECONDS = 60
    forget_live_ruleset()
    current_ruleset()
    with django_assert_num_queries(0):
        assert current_ruleset().version == published_rules.version
    # A publication in this process is served at once.
    Rule.objects.filter(identifier="allergy").update(message="Published while warm.")
    from screening.publishing import publish

    publish(note="While warm")
    assert next(r for r in current_ruleset().rules if r.id == "allergy").message == "Published while warm."
    forget_live_ruleset()


def patient_texts(ruleset: RuleSet) -> list[tuple[str, str]]:
    """Every text a patient can read in the rule set, named for a failure message."""
    texts = [(f"question {q.id}", t) for q in ruleset.questions for t in (q.text, q.help_text)]
    texts += [(f"option {q.id}={o.id}", o.label) for q in ruleset.questions for o in q.options]
    texts += [(f"rule {r.id}", t) for r in ruleset.rules for t in (r.title, r.message, r.next_steps, r.education_text)]
    texts += [(f"section {s.id}", t) for s in ruleset.sections for t in (s.title, *s.body)]
    texts += [(f"source {s.code}", s.summary) for s in ruleset.sources]
    return [(where, text) for where, text in texts if text]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_patient_text_of_the_default_set_reads_at_grade_8_or_lower_and_promises_nothing(language: str) -> None:
    ruleset = ruleset_from_document(default_document(), language=language)
    texts = patient_texts(ruleset)
    assert len(texts) > 200
    problems = [(where, text, check_text(text, language).warnings) for where, text in texts]
    assert [problem for problem in problems if problem[2]] == []
    if language == "en":
        grades = [grade for _, text in texts if (grade := reading_grade(text)) is not None]
        assert max(grades) <= TARGET_GRADE


YOU_SAID = {
    "en": re.compile(r"\byou (said|told us|answered)\b", re.IGNORECASE),
    "zh-hans": re.compile("您说|您回答"),
}


@pytest.mark.parametrize("language", list(YOU_SAID))
def test_the_education_texts_are_general_never_as_if_the_reader_had_answered(language: str) -> None:
    ruleset = ruleset_from_document(default_document(), language=language)
    said = YOU_SAID[language]
    assert [r.id for r in ruleset.rules if not r.education_text or said.search(r.education_text)] == []


@pytest.mark.parametrize("model", [Source, GuidanceSection, Question, Option, Rule, ShowWhen, Condition, Scenario])
def test_every_default_object_passes_its_models_own_checks(published_rules: RuleSet, model: type[Model]) -> None:
    """Lengths and formats too: SQLite stores an over-long text that PostgreSQL refuses."""
    objects = list(model.objects.all())
    assert objects
    for instance in objects:
        instance.full_clean()
