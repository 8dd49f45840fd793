from django.core.management.base import BaseCommand

from screening.publishing import ensure_default_rules


class Command(BaseCommand):
    help = "Load and publish the default rule set when the draft is empty. Never overwrites edits."

    def handle(self, *args: object, **options: object) -> None:
        if ensure_default_rules():
            self.stdout.write("Loaded and published the default rule set.")
        else:
            self.stdout.write("Rule set already present; left it as it is.")
