"""The "Clinical editor" group: every permission of the screening app and nothing else."""

from django.db import migrations

from screening.migrations._groups import GROUP_NAME, grant_all_screening_permissions

create_group = grant_all_screening_permissions


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("screening", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
