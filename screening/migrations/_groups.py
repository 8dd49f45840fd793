"""Shared by the migrations that keep the "Clinical editor" group in step with the screening models."""

from django.contrib.auth.management import create_permissions

GROUP_NAME = "Clinical editor"


def grant_all_screening_permissions(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure they exist now.
    app_config = apps.get_app_config("screening")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP_NAME)
    group.permissions.set(Permission.objects.filter(content_type__app_label="screening"))
