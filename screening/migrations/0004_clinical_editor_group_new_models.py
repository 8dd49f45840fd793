"""Give the "Clinical editor" group the permissions of the models added since it was made."""

from django.db import migrations

from screening.migrations._groups import grant_all_screening_permissions


class Migration(migrations.Migration):
    dependencies = [("screening", "0003_history_and_scenarios")]

    operations = [migrations.RunPython(grant_all_screening_permissions, migrations.RunPython.noop)]
