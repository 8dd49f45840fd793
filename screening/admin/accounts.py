"""Staff accounts: an administrator unlocks a clinician's sign-in after too many failed attempts.

django-axes locks a user name at one address after AXES_FAILURE_LIMIT failures. "Unlock sign-in" on
the user list (and on axes' own list of sign-in attempts) clears that user name's failures at once,
instead of leaving the clinician to wait out the hour. Clearing failures is deleting axes' attempt
records, so it takes axes' own permission for that, which superusers hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from axes.admin import AccessAttemptAdmin
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

UNLOCK_PERMISSION = "axes.delete_accessattempt"


def locking_attempts() -> QuerySet[AccessAttempt]:
    """The attempt records that lock a user name out now: enough failures, within the cool-off time."""
    attempts: QuerySet[AccessAttempt] = AccessAttempt.objects.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    )
    cool_off = get_cool_off()
    return attempts if cool_off is None else attempts.filter(attempt_time__gte=timezone.now() - cool_off)


def unlock_sign_in(*, usernames: Iterable[str]) -> tuple[list[str], list[str]]:
    """Clear every failed sign-in of these user names; return (those that were locked, those that were not)."""
    names = sorted(set(usernames))
    locked = set(locking_attempts().filter(username__in=names).values_list("username", flat=True))
    for name in names:
        reset(username=name)
    return [name for name in names if name in locked], [name for name in names if name not in locked]


class UnlockSignIn:
    """The "Unlock sign-in" action, for any model admin that can name the user names it selected."""

    def usernames(self, queryset: QuerySet[User] | QuerySet[AccessAttempt]) -> list[str]:
        return [name for name in queryset.values_list("username", flat=True) if name]

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(UNLOCK_PERMISSION)

    @admin.action(description="Unlock sign-in", permissions=["unlock"])
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[User] | QuerySet[AccessAttempt]) -> None:
        unlocked, not_locked = unlock_sign_in(usernames=self.usernames(queryset))
        for name in unlocked:
            messages.success(request, f"Sign-in unlocked for {name}. They can sign in again now.")
        for name in not_locked:
            messages.info(request, f"Sign-in was not locked for {name}: nothing to unlock.")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UnlockSignIn, UserAdmin):  # type: ignore[type-arg]  # UserAdmin is generic only in the stubs
    """Django's user admin, with who is locked out of signing in and the action to unlock them."""

    list_display = ("username", "email", "first_name", "last_name", "is_staff", "sign_in_locked")
    actions = ["unlock_sign_in"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        locked = locking_attempts().filter(username=OuterRef("username"))
        users: QuerySet[User] = super().get_queryset(request).annotate(is_sign_in_locked=Exists(locked))
        return users

    @admin.display(description="Sign-in locked", boolean=True, ordering="is_sign_in_locked")
    def sign_in_locked(self, user: User) -> bool:
        return bool(getattr(user, "is_sign_in_locked", False))


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class SignInAttemptAdmin(UnlockSignIn, AccessAttemptAdmin):  # type: ignore[misc]  # axes ships no type hints
    """axes' list of failed sign-ins, with the same "Unlock sign-in" action."""

    actions = [*AccessAttemptAdmin.actions, "unlock_sign_in"]
