"""manage.py add_clinician alice [--reviewer] [--email alice@example.org]: a colleague's staff account in one step."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from screening.permissions import CLINICAL_EDITOR

CLINICAL_REVIEWER = "Clinical reviewer"


class Command(BaseCommand):
    help = (
        "Give a colleague a staff account in the Clinical editor group (or, with --reviewer, the Clinical "
        "reviewer group, which may also approve a colleague's changes). In a terminal it asks for a first "
        "password; otherwise the account cannot sign in until `manage.py changepassword <username>`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reviewer", action="store_true", help="May also approve a colleague's changes.")
        parser.add_argument("--email", default="", help="Their e-mail address (optional).")
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Do not ask for a password.")

    def handle(self, *args: Any, username: str, reviewer: bool, email: str, interactive: bool, **options: Any) -> None:
        group_name = CLINICAL_REVIEWER if reviewer else CLINICAL_EDITOR
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            raise CommandError(f"There is no “{group_name}” group yet: run `manage.py migrate` first.")
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"“{username}” already has an account. Change its groups in the admin under Users, "
                f"or its password with `manage.py changepassword {username}`."
            )
        password = self._ask_password(username) if interactive and sys.stdin.isatty() else None
        with transaction.atomic():
            # No usable password until one is set: nobody can sign in as a half-made account.
            user = User.objects.create_user(username, email=email, password=password, is_staff=True)
            user.groups.add(group)
        self.stdout.write(f"Made {username}, a member of the {group_name} group.")
        if password is None:
            self.stdout.write(
                "They cannot sign in yet. Set a first password with:\n\n"
                f"    python manage.py changepassword {username}\n\n"
                "and give it to them in person; they change it after signing in, under “Change password”."
            )
        else:
            self.stdout.write(
                "Give them the password in person; they change it after signing in, under “Change password”."
            )

    def _ask_password(self, username: str) -> str:
        while True:
            password = getpass.getpass(f"First password for {username}: ")
            if password != getpass.getpass("The same password again: "):
                self.stderr.write("The two passwords differ. Try again.")
                continue
            try:
                password_validation.validate_password(password, User(username=username))
            except ValidationError as error:
                self.stderr.write(" ".join(error.messages))
                continue
            return password
