from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = "Screening rules"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_delete
        from simple_history.signals import pre_create_historical_record

        import ruxguide.csrf  # noqa: F401  # registers its deployment checks
        from screening.history import fill_in_reason
        from screening.permissions import kept_records, refuse_deleting_a_record, sync_clinical_editor_group

        pre_create_historical_record.connect(fill_in_reason, dispatch_uid="screening-change-reason")
        # After auth's own post_migrate receiver (auth is ready first), which creates the permissions.
        post_migrate.connect(sync_clinical_editor_group, dispatch_uid="screening-clinical-editor-group")
        for model in kept_records():
            pre_delete.connect(refuse_deleting_a_record, sender=model, dispatch_uid=f"screening-keep-{model.__name__}")
