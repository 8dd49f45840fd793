"""The default rule set as loaded into the database and published."""

from __future__ import annotations

import io
import re

from django.core.management import call_command

from screening.defaults import ensure_default_rules
from screening.engine import RuleSet
from screening.models import PublishedRuleSet, Rule
from screening.publishing import current_ruleset

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
    from screening.publishing import forget_live_ruleset

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
