"""Shared fixtures: a test database that holds the published default rule set."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.utils import translation
from hypothesis import settings as hypothesis_settings
from whitenoise.base import WhiteNoise

from screening.defaults import default_document, ensure_default_rules
from screening.engine import RuleSet, ruleset_from_document
from screening.live import current_ruleset
from screening.models import PublishedRuleSet
from tests.scheduling import longest_first
from tests.support.staff import clinical_editor, signed_in

# Property tests check behaviour, never speed (`make bench` measures that): on a machine busy with the
# rest of the suite, one example can take over Hypothesis's default 200 ms deadline and fail a test
# that is right. Tests that set their own settings still choose their own deadline.
hypothesis_settings.register_profile("ruxguide", deadline=None)
hypothesis_settings.load_profile("ruxguide")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the default rule set once; each test's transaction is rolled back over it."""
    with django_db_blocker.unblock():
        ensure_default_rules()
        _keep_snapshot()


@pytest.fixture
def published_rules(db) -> RuleSet:
    """The live rule set. A browser test's flush empties the tables, so load again when needed."""
    if not PublishedRuleSet.objects.exists() and not _restore_snapshot():
        ensure_default_rules()
    return current_ruleset()


# The SQLite test database as it stands with the default rules loaded, copied once per test process.
# A browser test (a transactional one) empties every table afterwards; loading the rules again takes
# 1,700 queries and half a second, copying this back a millisecond, for the same rows.
_snapshot: sqlite3.Connection | None = None


def _keep_snapshot() -> None:
    global _snapshot
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    _snapshot = sqlite3.connect(":memory:", check_same_thread=False)
    connection.connection.backup(_snapshot)


def _restore_snapshot() -> bool:
    if _snapshot is None or connection.vendor != "sqlite" or connection.in_atomic_block:
        return False
    connection.ensure_connection()
    _snapshot.backup(connection.connection)
    # Content types and permissions were made again after the flush, with other ids: forget those.
    ContentType.objects.clear_cache()
    return True


@pytest.fixture(scope="session")
def default_ruleset() -> RuleSet:
    """The default rule set as the engine sees it, without a database."""
    return ruleset_from_document(default_document())


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Passwords are hashed for every test user; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clinician(db: None) -> User:
    """A staff member of the "Clinical editor" group."""
    return clinical_editor("clinician")


@pytest.fixture
def clinician_client(clinician: User) -> Client:
    return signed_in(clinician)


@pytest.fixture(autouse=True)
def english_between_tests() -> Iterator[None]:
    """A request in Chinese leaves its language active in this thread; the next test starts in English."""
    yield
    translation.activate("en")


@pytest.fixture(scope="session", autouse=True)
def static_files_listed_once() -> Iterator[None]:
    """WhiteNoise lists the collected static files once per run, not once per test client.

    Every test client loads the middleware afresh, and WhiteNoise then reads about a thousand
    collected files and works out their headers: about a third of the suite's time. The files do
    not change during a run, so a list already made for the same folder and header settings is reused.
    """
    made: dict[tuple[Any, ...], dict[str, Any]] = {}
    list_files = WhiteNoise.update_files_dictionary

    def update_files_dictionary(self: WhiteNoise, root: str, prefix: str) -> None:
        key = (
            type(self),
            root,
            prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            self.add_headers_function,
            self.index_file,
            tuple(sorted(self.media_types.types_map.items())),
        )
        if key not in made:
            before = dict(self.files)
            list_files(self, root, prefix)
            made[key] = {url: file for url, file in self.files.items() if before.get(url) is not file}
        self.files.update(made[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoise, "update_files_dictionary", update_files_dictionary)
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the long tests first, spread over the workers (tests/scheduling.py)."""
    workers = getattr(config, "workerinput", {}).get("workercount", 0)
    if config.getoption("dist", "no") == "worksteal" and workers > 1:
        items[:] = longest_first(items, workers)
