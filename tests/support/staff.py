"""Staff accounts for tests: clinicians of the "Clinical editor" group, signed in."""

from __future__ import annotations

from django.contrib.auth.models import Group, User
from django.test import Client

from screening.permissions import CLINICAL_EDITOR


def clinical_editor(username: str) -> User:
    """A staff member of the "Clinical editor" group."""
    user = User.objects.create_user(username, password="a long enough password", is_staff=True)
    user.groups.add(Group.objects.get(name=CLINICAL_EDITOR))
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
