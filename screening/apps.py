from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = "Screening rules"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from screening.history import fill_in_reason

        pre_create_historical_record.connect(fill_in_reason, dispatch_uid="screening-change-reason")
