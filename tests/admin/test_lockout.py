"""Sign-in lockout behind a proxy: per user name and real address, and undone by an administrator.

Behind the TLS proxy every request comes from the proxy's address; the client's own address is the
one the trusted proxy appended to X-Forwarded-For. Anything further left was written by the client.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission, User
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

PASSWORD = "a long enough password"
PROXY = "10.0.0.2"
ATTACKER = "203.0.113.9"
CLINIC = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.RUXGUIDE_TRUSTED_PROXY_COUNT = 1


@pytest.fixture
def administrator(db: None) -> User:
    return User.objects.create_superuser("administrator", password=PASSWORD)


def sign_in(client: Client, username: str, password: str, **headers: str) -> HttpResponse:
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}, **headers
    )


def through_proxy(forwarded_for: str) -> dict[str, str]:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded_for}


def lock_out(username: str, **headers: str) -> None:
    client = Client()
    for _ in range(5):
        assert sign_in(client, username, "a wrong guess", **headers).status_code in {200, 429}
    assert sign_in(client, username, PASSWORD, **headers).status_code == 429


def signed_in(response: HttpResponse) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


# ---------------------------------------------------------------------------------------------
# The client's address
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, f"{ATTACKER}", PROXY),  # no proxy configured: the header is anyone's to write
        (1, f"{ATTACKER}", ATTACKER),
        (1, f"{CLINIC}, {ATTACKER}", ATTACKER),  # the leftmost entry is the client's own claim
        (1, f"{CLINIC},{ATTACKER}", ATTACKER),
        (2, f"{CLINIC}, {ATTACKER}, 10.0.0.9", ATTACKER),  # two proxies: the outer one wrote ATTACKER
        (1, "2001:db8::7", "2001:db8::7"),
        (1, "", PROXY),  # a proxy that sent no header
        (1, "not an address", PROXY),
        (1, f"{CLINIC}, not-an-address", PROXY),
        (1, f"{ATTACKER}, ", PROXY),
        (2, f"{ATTACKER}", PROXY),  # fewer entries than proxies
        (1, f"{ATTACKER}:4711", PROXY),
    ],
)
def test_the_client_address_is_taken_that_many_hops_from_the_right(
    settings: Any, count: int, forwarded_for: str, expected: str
) -> None:
    from ruxguide.client_address import client_address

    settings.RUXGUIDE_TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/admin/login/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_address(request) == expected


def test_a_request_without_the_header_is_from_its_remote_address(behind_proxy: None) -> None:
    from ruxguide.client_address import client_address

    assert client_address(RequestFactory().get("/", REMOTE_ADDR=PROXY)) == PROXY


# ---------------------------------------------------------------------------------------------
# Lockout per user name and real address
# ---------------------------------------------------------------------------------------------


def test_failures_from_an_attacker_behind_the_proxy_do_not_lock_the_clinician_out(
    clinician: User, behind_proxy: None
) -> None:
    lock_out("clinician", **through_proxy(ATTACKER))

    assert signed_in(sign_in(Client(), "clinician", PASSWORD, **through_proxy(CLINIC)))


def test_a_spoofed_leftmost_entry_is_ignored(clinician: User, behind_proxy: None) -> None:
    # The attacker claims to be the clinic; the proxy appends the attacker's real address.
    lock_out("clinician", **through_proxy(f"{CLINIC}, {ATTACKER}"))

    assert sign_in(Client(), "clinician", PASSWORD, **through_proxy(ATTACKER)).status_code == 429
    assert signed_in(sign_in(Client(), "clinician", PASSWORD, **through_proxy(CLINIC)))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_without_the_proxy_setting_x_forwarded_for_is_ignored(clinician: User, settings: Any) -> None:
    settings.RUXGUIDE_TRUSTED_PROXY_COUNT = 0
    lock_out("clinician", REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=ATTACKER)

    response = sign_in(Client(), "clinician", PASSWORD, REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR=CLINIC)

    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.50"}


# ---------------------------------------------------------------------------------------------
# An administrator unlocks a clinician
# ---------------------------------------------------------------------------------------------


def admin_client(username: str) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.99")
    assert signed_in(sign_in(client, username, PASSWORD))
    return client


def unlock_from_user_list(client: Client, *users: User) -> HttpResponse:
    return client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [str(user.pk) for user in users]},
        follow=True,
    )


def test_an_administrator_unlocks_a_locked_clinician_from_the_user_list(clinician: User, administrator: User) -> None:
    lock_out("clinician")

    response = unlock_from_user_list(admin_client("administrator"), clinician)

    assert response.status_code == 200
    assert "Sign-in unlocked for clinician." in response.content.decode()
    assert not AccessAttempt.objects.filter(username="clinician").exists()
    assert signed_in(sign_in(Client(), "clinician", PASSWORD))


def test_the_user_list_says_who_is_locked_out_and_unlocking_an_unlocked_user_says_so(
    clinician: User, administrator: User
) -> None:
    lock_out("clinician")
    client = admin_client("administrator")

    listing = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert "Unlock sign-in" in listing
    assert "Sign-in locked" in listing

    response = unlock_from_user_list(client, administrator)
    assert "Sign-in was not locked for administrator: nothing to unlock." in response.content.decode()
    assert AccessAttempt.objects.filter(username="clinician").exists()


def test_an_administrator_unlocks_from_the_sign_in_attempts_list(clinician: User, administrator: User) -> None:
    lock_out("clinician")
    attempt = AccessAttempt.objects.get(username="clinician")

    response = admin_client("administrator").post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [str(attempt.pk)]},
        follow=True,
    )

    assert "Sign-in unlocked for clinician." in response.content.decode()
    assert signed_in(sign_in(Client(), "clinician", PASSWORD))


def test_staff_without_the_axes_permission_cannot_unlock(clinician: User) -> None:
    helper = User.objects.create_user("helper", password=PASSWORD, is_staff=True)
    helper.user_permissions.add(Permission.objects.get(codename="view_user"))
    lock_out("clinician")
    client = admin_client("helper")

    assert "Unlock sign-in" not in client.get(reverse("admin:auth_user_changelist")).content.decode()
    unlock_from_user_list(client, clinician)

    assert sign_in(Client(), "clinician", PASSWORD).status_code == 429


def test_staff_with_the_axes_permission_can_unlock(clinician: User) -> None:
    helper = User.objects.create_user("helper", password=PASSWORD, is_staff=True)
    helper.user_permissions.add(
        Permission.objects.get(codename="view_user"), Permission.objects.get(codename="delete_accessattempt")
    )
    lock_out("clinician")

    response = unlock_from_user_list(admin_client("helper"), clinician)

    assert "Sign-in unlocked for clinician." in response.content.decode()
    assert signed_in(sign_in(Client(), "clinician", PASSWORD))
