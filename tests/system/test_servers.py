"""Several real app servers on loopback: isolation under load, and a shared database."""

from __future__ import annotations

import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from screening.defaults import default_document
from screening.engine import RuleSet, evaluate, ruleset_from_document
from tests.system.loopback import (
    Browser,
    app_servers,
    manage,
    migrate_with_default_rules,
    production_env,
    server_database,
)

# Each test starts real app servers (gunicorn) on loopback: seconds, not milliseconds.
pytestmark = pytest.mark.slow

PATIENTS = 200
STAFF_PASSWORD = "a long staff password for tests"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return ruleset_from_document(default_document())


@pytest.fixture
def server_env(tmp_path: Path):
    """Production settings over a database of the servers' own, migrated, with the default rules."""
    with server_database(tmp_path) as database_url:
        env = production_env(database_url, secret_key="shared-by-every-server-" + "x" * 40)
        migrate_with_default_rules(env)
        yield env


def random_answers(rules: RuleSet, seed: int) -> dict[str, tuple[str, ...]]:
    """One answer for every question (the flow only asks the shown ones)."""
    chooser = random.Random(seed)
    answers: dict[str, tuple[str, ...]] = {}
    for question in rules.questions:
        if question.multiple:
            plain = [o.id for o in question.options if not o.exclusive]
            exclusive = [o.id for o in question.options if o.exclusive]
            if exclusive and chooser.random() < 0.3:
                answers[question.id] = (chooser.choice(exclusive),)
            else:
                picked = set(chooser.sample(plain, chooser.randint(1, len(plain))))
                answers[question.id] = tuple(o for o in plain if o in picked)
        else:
            answers[question.id] = (chooser.choice(question.option_ids),)
    return answers


def walk(browser: Browser, answers: dict[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]], str, list[str]]:
    """Answer each question the server asks, then read the result page's level and rules."""
    token = browser.csrf_token()
    asked: dict[str, tuple[str, ...]] = {}
    path = "/check/question/urgent_symptoms/"
    for _ in range(40):
        question = path.rstrip("/").rsplit("/", 1)[-1]
        response = browser.request("POST", path, {question: list(answers[question]), "csrfmiddlewaretoken": token})
        assert response.status == 302, (response.status, path, response.body[:300])
        asked[question] = answers[question]
        path = response.location
        # Check your answers, or the result at once when an answer ended the check.
        if path in ("/check/answers/", "/check/result/"):
            break
    result = browser.request("GET", "/check/result/")
    assert result.status == 200, result.body[:300]
    level = re.search(r'<h1[^>]*data-level="([^"]+)"', result.body)
    assert level, result.body[:300]
    return asked, level.group(1), re.findall(r'<article class="[a-z]+" data-rule="([^"]+)"', result.body)


def test_two_hundred_concurrent_patients_each_get_the_result_for_their_own_answers(
    rules: RuleSet, server_env: dict[str, str]
) -> None:
    start_together = threading.Barrier(PATIENTS, timeout=60)
    failures: list[str] = []

    def patient(number: int) -> int:
        browser = Browser(servers=server_urls)
        answers = random_answers(rules, seed=number)
        start_together.wait()
        try:
            asked, level, fired = walk(browser, answers)
        except AssertionError as error:
            failures.append(f"patient {number}: {error}")
            return browser.requests
        expected = evaluate(rules, asked)
        if level != expected.overall or fired != [rule.id for rule in expected.fired]:
            failures.append(f"patient {number}: got {level} {fired}, expected {expected.overall}")
        return browser.requests

    with app_servers(server_env, 1, workers=2, threads=8) as server_urls:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=PATIENTS) as pool:
            requests = sum(pool.map(patient, range(PATIENTS), timeout=240))
        elapsed = time.monotonic() - started
    print(f"\n{PATIENTS} concurrent patients, {requests} requests in {elapsed:.1f} s, {len(failures)} errors")
    assert failures == []


def test_two_servers_share_one_database_and_sessions_and_see_a_publish_within_a_second(
    rules: RuleSet, server_env: dict[str, str]
) -> None:
    manage(
        {**server_env, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD},
        "createsuperuser",
        "--noinput",
        "--username",
        "clinician",
        "--email",
        "clinician@example.org",
    )
    # The publish page publishes directly only where one clinician may publish alone.
    with app_servers({**server_env, "RUXGUIDE_SINGLE_CLINICIAN_PUBLISH": "true"}, 2) as (first, second):
        # A patient whose requests alternate between the two servers completes the check.
        alternating = Browser(servers=[first, second])
        answers = random_answers(rules, seed=7)
        asked, level, fired = walk(alternating, answers)
        expected = evaluate(rules, asked)
        assert (level, fired) == (expected.overall, [rule.id for rule in expected.fired])
        assert alternating.turn > 10

        # A clinician publishes a change through the first server...
        staff = Browser(servers=[first])
        login = staff.request("GET", "/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.body).group(1)
        signed_in = staff.request(
            "POST",
            "/admin/login/?next=/admin/",
            {"username": "clinician", "password": STAFF_PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"},
        )
        assert signed_in.status == 302 and signed_in.location == "/admin/"
        new_wording = "Wording published through the first server."
        change_draft = f"Rule.objects.filter(identifier='allergy').update(education_text={new_wording!r})"
        manage(server_env, "shell", "-c", f"from screening.models import Rule; {change_draft}")
        page = staff.request("GET", "/admin/screening/publishedruleset/publish/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
        published = staff.request(
            "POST",
            "/admin/screening/publishedruleset/publish/",
            {"note": "Allergy wording", "csrfmiddlewaretoken": token},
        )
        assert published.status == 302, published.body[:500]
        published_at = time.monotonic()

        # ...and the second server serves it within a second.
        reader = Browser(servers=[second])
        while new_wording not in reader.request("GET", "/about-the-cream/").body:
            assert time.monotonic() - published_at < 1.0, "the second server did not serve the new version in 1 s"
            time.sleep(0.02)
        print(f"\nthe second server served the new version {time.monotonic() - published_at:.3f} s after publishing")
