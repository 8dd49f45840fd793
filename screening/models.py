"""The draft rule set that clinicians edit in the admin, and the published snapshots patients see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from simple_history.models import HistoricalRecords

from screening.concurrency import EditVersioned
from screening.engine import NO_CAUTION, Level
from screening.translations import text_lines

identifier_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$",
    "Use lower-case letters, digits, '_' or '-' only, starting with a letter or digit.",
)


def chinese_text(verbose_name: str, *, max_length: int | None = None) -> models.Field[str, str]:
    """The Simplified Chinese version of a patient-facing text, edited beside the English one."""
    help_text = "Simplified Chinese. Leave empty and Chinese pages show the English text, marked as English."
    if max_length is None:
        return models.TextField(f"{verbose_name} (简体中文)", blank=True, help_text=help_text)
    return models.CharField(f"{verbose_name} (简体中文)", max_length=max_length, blank=True, help_text=help_text)


def translation_checked() -> models.BooleanField[bool, bool]:
    return models.BooleanField(
        "checked by a clinician",
        default=False,
        help_text="Tick once a clinician has read the Chinese against the English. Editing either text clears it.",
    )


def translation_outdated() -> models.BooleanField[bool, bool]:
    return models.BooleanField(
        "out of date",
        default=False,
        help_text="Set when the English text changes and the translation does not. Until the translation is "
        "updated or confirmed, patients reading this language see the current English text instead.",
    )


def identifier_field(*, unique: bool = False) -> models.CharField[str, str]:
    return models.CharField(
        max_length=64,
        validators=[identifier_validator],
        help_text="Fixed identifier used in forms, results and exports. Do not derive it from wording.",
        unique=unique,
    )


class Source(EditVersioned):
    """A checked fact and the document it comes from (S1-S11 from the article, L1-L11 from the label)."""

    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z][0-9]+$", "Use a capital letter and a number, e.g. S1 or L10.")],
    )
    document = models.CharField(
        max_length=200, help_text="Document and section, e.g. 'US Prescribing Information, section 5.1'."
    )
    url = models.URLField(blank=True, validators=[URLValidator(schemes=["http", "https"])])
    summary = models.TextField(help_text="The fact in plain words; printed on the patient-education page.")
    summary_zh_hans = chinese_text("summary")
    summary_zh_hans_checked = translation_checked()
    summary_zh_hans_outdated = translation_outdated()
    order = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.document}"


class GuidanceSection(EditVersioned):
    """Text every result and the education page show, such as the urgent warning signs."""

    identifier = identifier_field(unique=True)
    title = models.CharField(max_length=200)
    title_zh_hans = chinese_text("title", max_length=200)
    title_zh_hans_checked = translation_checked()
    title_zh_hans_outdated = translation_outdated()
    body = models.TextField(help_text="One paragraph or list item per line.")
    body_zh_hans = chinese_text("body")
    body_zh_hans_checked = translation_checked()
    body_zh_hans_outdated = translation_outdated()
    sources = models.ManyToManyField(Source, blank=True, related_name="sections")
    order = models.PositiveIntegerField(default=0)
    history = HistoricalRecords(m2m_fields=[sources])

    class Meta:
        ordering = ["order", "identifier"]

    def __str__(self) -> str:
        return self.title

    def body_lines(self) -> list[str]:
        return text_lines(self.body)

    def body_zh_hans_lines(self) -> list[str]:
        return text_lines(self.body_zh_hans)


class Question(EditVersioned):
    identifier = identifier_field(unique=True)
    text = models.CharField(max_length=300, help_text="The question as patients read it.")
    text_zh_hans = chinese_text("text", max_length=300)
    text_zh_hans_checked = translation_checked()
    text_zh_hans_outdated = translation_outdated()
    help_text = models.TextField(blank=True)
    help_text_zh_hans = chinese_text("help text")
    help_text_zh_hans_checked = translation_checked()
    help_text_zh_hans_outdated = translation_outdated()
    multiple = models.BooleanField("several answers allowed", default=False)
    order = models.PositiveIntegerField(default=0, help_text="Patients meet questions in this order.")
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "identifier"]

    def __str__(self) -> str:
        return self.identifier


class Option(EditVersioned):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    identifier = identifier_field()
    label = models.CharField(max_length=200)
    label_zh_hans = chinese_text("label", max_length=200)
    label_zh_hans_checked = translation_checked()
    label_zh_hans_outdated = translation_outdated()
    order = models.PositiveIntegerField(default=0)
    exclusive = models.BooleanField(
        "none of these", default=False, help_text="Choosing this clears the question's other options."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["question__order", "order", "identifier"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "identifier"],
                name="option_identifier_unique_per_question",
                violation_error_message="This question already has an option with that identifier.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.question.identifier} = {self.identifier}"


class ShowWhen(EditVersioned):
    """Skip logic: the question is shown only when an earlier question's answer is one of `options`."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="show_when")
    depends_on = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="+", help_text="An earlier question."
    )
    options = models.ManyToManyField(Option, related_name="+", help_text="Shown when the answer is any of these.")
    history = HistoricalRecords(m2m_fields=[options])

    class Meta:
        verbose_name = "shown when"
        verbose_name_plural = "shown when (skip logic)"

    def __str__(self) -> str:
        return f"{self.question.identifier} shown when {self.depends_on.identifier} is …"

    def clean(self) -> None:
        if self.question_id and self.depends_on_id:
            problem = skip_rule_problem(question=self.question, depends_on=self.depends_on)
            if problem:
                raise ValidationError({"depends_on": problem})


class Rule(EditVersioned):
    identifier = identifier_field(unique=True)
    title = models.CharField(max_length=200, help_text="Short heading patients read.")
    title_zh_hans = chinese_text("title", max_length=200)
    title_zh_hans_checked = translation_checked()
    title_zh_hans_outdated = translation_outdated()
    level = models.CharField(max_length=20, choices=Level.choices)
    message = models.TextField(help_text="What this means, in plain words.")
    message_zh_hans = chinese_text("message")
    message_zh_hans_checked = translation_checked()
    message_zh_hans_outdated = translation_outdated()
    next_steps = models.TextField("what to do next")
    next_steps_zh_hans = chinese_text("what to do next")
    next_steps_zh_hans_checked = translation_checked()
    next_steps_zh_hans_outdated = translation_outdated()
    education_text = models.TextField(
        "general statement (education page)",
        blank=True,
        help_text="How the education page describes this caution to any reader, e.g. 'If you are pregnant, …'. "
        "Never 'You said …': that is for the result page.",
    )
    education_text_zh_hans = chinese_text("general statement (education page)")
    education_text_zh_hans_checked = translation_checked()
    education_text_zh_hans_outdated = translation_outdated()
    ends_check = models.BooleanField(
        "ends the check",
        default=False,
        help_text="When this rule fires, no later question is asked: the patient goes straight to the result. "
        "Use it for warning signs that need help at once.",
    )
    rationale = models.TextField("clinician rationale", blank=True)
    # Source's ordering (the document's order) is what an export lists a rule's sources in.
    sources = models.ManyToManyField(Source, blank=True, related_name="rules")
    active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    history = HistoricalRecords(m2m_fields=[sources])

    class Meta:
        ordering = ["order", "identifier"]

    def __str__(self) -> str:
        return self.identifier


class Condition(EditVersioned):
    """Holds when the answer to `question` is (or, for several answers, includes) any of `options`."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    options = models.ManyToManyField(Option, related_name="+")
    history = HistoricalRecords(m2m_fields=[options])

    def __str__(self) -> str:
        return f"{self.question.identifier} is any of …"


class Scenario(EditVersioned):
    """A test patient: answers and the outcome a clinician expects, checked before every publish."""

    OVERALL_CHOICES = [(NO_CAUTION, "No cautions"), *Level.choices]

    name = models.CharField(max_length=200, unique=True)
    answers = models.JSONField(
        default=dict,
        help_text='Answers by question identifier, e.g. {"age_group": ["65_or_over"], "allergy": ["no"]}.',
    )
    expected_overall = models.CharField("expected overall result", max_length=20, choices=OVERALL_CHOICES)
    expected_rules = models.JSONField(
        default=list, blank=True, help_text="Identifiers of the rules that must fire, and no others."
    )
    active = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_passed = models.BooleanField(null=True, editable=False)
    last_report = models.TextField(blank=True, editable=False)
    # A test patient guards the rules: every change is kept with its reason (but not each run's result).
    history = HistoricalRecords(excluded_fields=["last_run_at", "last_passed", "last_report"])

    class Meta:
        ordering = ["name"]
        verbose_name = "test patient"

    def __str__(self) -> str:
        return self.name


class DefaultContentVersion(models.Model):
    """Which version of the shipped default content the draft was loaded from or last updated to."""

    version = models.PositiveIntegerField(unique=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = "default content version"

    def __str__(self) -> str:
        return f"default content version {self.version}"


class PublishedRuleSetQuerySet(models.QuerySet["PublishedRuleSet"]):
    """Published versions are a record: no bulk edits or deletes either."""

    def update(self, **kwargs: object) -> int:
        # Deleting a staff account clears its name from the versions it sent or published (SET_NULL).
        if set(kwargs) - {"published_by", "published_by_id", "author", "author_id"}:
            raise ValidationError("Published rule sets cannot be changed.")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValidationError("Published rule sets cannot be deleted.")


class PublishedRuleSet(models.Model):
    """An immutable snapshot of the rule set as patients see it."""

    version = models.PositiveIntegerField(unique=True)
    document = models.JSONField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    # Who sent this version for review, and whether a second clinician approved it (published_by, then).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="sent for review by",
    )
    author_note = models.CharField("what the author said changed, and why", max_length=300, blank=True)
    sent_at = models.DateTimeField("sent for review at", null=True, blank=True)
    second_review = models.BooleanField(
        "approved by a second clinician",
        default=False,
        help_text="False for a version published without a second review (the defaults loaded by a command, "
        "or an installation that allows single-clinician publishing).",
    )

    objects = PublishedRuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        # One permission per page of the publishing workflow, so each can be granted on its own.
        permissions = [
            ("publish_draft", "Can publish the draft"),
            ("approve_publication", "Can approve a draft for publishing (a second clinician)"),
            ("preview_draft", "Can preview the draft as a patient"),
            ("export_draft", "Can export the draft (JSON and FHIR)"),
            ("import_draft", "Can import a rule set into the draft"),
            ("restore_version", "Can restore a published version as the draft"),
            ("view_change_history", "Can view the change history of the draft"),
            ("view_translations", "Can view the translations to write or check"),
            ("open_handoff_code", "Can open a patient's hand-off code (their answers and the reasoning)"),
        ]

    def __str__(self) -> str:
        return f"version {self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and PublishedRuleSet.objects.filter(pk=self.pk).exists():
            raise ValidationError("A published rule set cannot be changed. Publish a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError("A published rule set cannot be deleted: it is the record of what patients saw.")


class Review(models.Model):
    """The draft as one clinician sent it for review, and a second clinician's decision on it.

    Approving publishes the draft (if it is still what was sent); sending it back returns it to editing.
    At most one review waits at a time, so two clinicians cannot send the draft twice.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for review"
        APPROVED = "approved", "Approved and published"
        RETURNED = "returned", "Sent back"
        WITHDRAWN = "withdrawn", "Withdrawn by its author"

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    draft_fingerprint = models.CharField(max_length=64, help_text="The draft as it was sent (screening.publishing).")
    live_version = models.PositiveIntegerField(default=0, help_text="The version patients saw when it was sent.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="sent by"
    )
    author_note = models.CharField("what changed, and why", max_length=300)
    safety_reasons = models.JSONField(
        default=dict, blank=True, help_text="The author's written reason for each change that weakens the safety net."
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer_note = models.TextField(blank=True)
    acknowledged = models.JSONField(
        default=list, blank=True, help_text="The safety-net changes the reviewer ticked as read and accepted."
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    published = models.OneToOneField(
        PublishedRuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="review"
    )

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="waiting"),
                name="one_review_waiting",
                violation_error_message="The draft is already waiting for review.",
            )
        ]

    def __str__(self) -> str:
        return f"review sent {self.sent_at:%Y-%m-%d %H:%M}" if self.sent_at else "review"


def skip_rule_problem(*, question: Question, depends_on: Question) -> str:
    """Why a question cannot depend on another, or an empty string when it can."""
    if depends_on.pk == question.pk and question.pk is not None:
        return "A question cannot be shown depending on its own answer."
    if depends_on.order >= question.order:
        return (
            f"'{depends_on.identifier}' does not come before '{question.identifier}': "
            "a question can only depend on an earlier one (lower order)."
        )
    return ""


def options_problem(*, question: Question, options: list[Option]) -> str:
    """Why these options cannot be used with this question, or an empty string."""
    if not options:
        return "Choose at least one option."
    foreign = [option for option in options if option.question_id != question.pk]
    if foreign:
        names = ", ".join(str(option) for option in foreign)
        return f"These options belong to another question than '{question.identifier}': {names}."
    return ""
