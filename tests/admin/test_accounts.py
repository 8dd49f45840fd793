"""manage.py add_clinician: one step to give a colleague a Clinical editor or Clinical reviewer account."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from screening.permissions import CLINICAL_EDITOR

CLINICAL_REVIEWER = "Clinical reviewer"
PASSWORD = "a long enough password for a colleague"


def add_clinician(*args: str, **options: str | bool) -> str:
    out = StringIO()
    call_command("add_clinician", *args, stdout=out, **options)
    return out.getvalue()


def test_it_makes_a_staff_clinical_editor_who_cannot_sign_in_before_a_password_is_set(db: None) -> None:
    output = add_clinician("alice", email="alice@example.org")

    alice = User.objects.get(username="alice")
    assert alice.is_staff and alice.is_active and not alice.is_superuser
    assert alice.email == "alice@example.org"
    assert [g.name for g in alice.groups.all()] == [CLINICAL_EDITOR]
    assert not alice.has_usable_password()
    assert "manage.py changepassword alice" in output


def test_the_colleague_signs_in_once_the_password_is_set(db: None) -> None:
    add_clinician("alice")
    alice = User.objects.get(username="alice")
    # What `manage.py changepassword alice` does once it has read the password twice.
    alice.set_password(PASSWORD)
    alice.save()

    client = Client()
    response = client.post(reverse("admin:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("admin:screening_rule_changelist")).status_code == 200


def test_reviewer_puts_the_colleague_in_the_clinical_reviewer_group(db: None) -> None:
    # The group the review workflow creates after migrate; made here if that work is not in yet.
    Group.objects.get_or_create(name=CLINICAL_REVIEWER)
    add_clinician("bob", reviewer=True)
    assert [g.name for g in User.objects.get(username="bob").groups.all()] == [CLINICAL_REVIEWER]


def test_it_refuses_a_username_already_taken(db: None) -> None:
    User.objects.create_user("alice")
    with pytest.raises(CommandError, match="already has an account"):
        add_clinician("alice")
    assert not User.objects.get(username="alice").groups.exists()
