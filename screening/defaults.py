"""The shipped default content: loading it into an empty draft, and updating an edited draft to a newer version.

An update is a three-way merge: the version the draft was loaded from (base), the draft as the
clinicians left it (ours) and the newly shipped version (theirs). A clinician's edit always wins;
where the new version changed the same thing, the edit is kept and reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max

from screening.documents import LANGUAGE_NAMES, document_diff, document_problems
from screening.engine import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, checked_name, translated_name
from screening.history import change_reason
from screening.models import (
    Condition,
    DefaultContentVersion,
    GuidanceSection,
    Option,
    Question,
    Rule,
    Scenario,
    ShowWhen,
    Source,
    text_lines,
)
from screening.publishing import default_document, draft_document, load_document, publish, translation_fields

LOADED_REASON = "Default rule set loaded"
UPDATE_REASON = "Default content updated to version 2 after an independent clinical review"

# (collection, identifying key, what people call an item), in the order a document lists them.
COLLECTIONS = (
    ("sources", "code", "Source"),
    ("sections", "id", "Section"),
    ("questions", "id", "Question"),
    ("rules", "id", "Rule"),
    ("scenarios", "name", "Test patient"),
)
COLLECTION_NAMES = frozenset(name for name, _, _ in COLLECTIONS)
# What an absent field means: the model field's default (texts absent from a document are empty).
FIELD_DEFAULTS: dict[str, dict[str, Any]] = {
    "sources": {"url": "", "summary": ""},
    "sections": {"body": [], "sources": []},
    "questions": {"help_text": "", "multiple": False, "active": True, "options": [], "show_when": []},
    "options": {"exclusive": False},
    "rules": {
        "active": True,
        "ends_check": False,
        "conditions": [],
        "message": "",
        "next_steps": "",
        "education_text": "",
        "rationale": "",
        "sources": [],
    },
    "scenarios": {"answers": {}, "expected_rules": [], "active": True},
}
# The suffix of a translated field, and the language's name for people: {"zh_hans": "Chinese"}.
LANGUAGE_WORDS = {suffix: LANGUAGE_NAMES[language] for language, suffix in TRANSLATIONS.items()}
FIELD_WORDS = {"ends_check": "ends-the-check setting", "show_when": "skip logic", "expected_overall": "expected result"}


# Versions ----------------------------------------------------------------------------------------


def content_version(document: Mapping[str, Any]) -> int:
    """The default-content version a document declares (documents from before versioning are 1)."""
    return int(document.get("content_version", 1))


def shipped_content_version() -> int:
    """The version of the default content this code ships."""
    return content_version(default_document())


def installed_content_version() -> int | None:
    """The newest default-content version the draft was loaded from or updated to, if recorded."""
    return DefaultContentVersion.objects.aggregate(latest=Max("version"))["latest"]


def shipped_document(version: int) -> dict[str, Any]:
    """An earlier shipped version, kept beside the current one as `default_ruleset_v<N>.json`."""
    path = Path(__file__).with_name(f"default_ruleset_v{version}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def update_waiting() -> tuple[int, int] | None:
    """(installed, shipped) when the draft holds older default content than this code ships."""
    installed = installed_content_version()
    shipped = shipped_content_version()
    if not _draft_is_empty() and (installed or 1) < shipped:
        return installed or 1, shipped
    return None


def _draft_is_empty() -> bool:
    return not (Question.objects.exists() or Rule.objects.exists())


def ensure_default_rules() -> bool:
    """Load and publish the default rule set if the draft is empty; never touch an edited one."""
    with transaction.atomic():
        if not _draft_is_empty():
            return False
        document = default_document()
        load_document(document, reason=LOADED_REASON)
        DefaultContentVersion.objects.get_or_create(version=content_version(document))
    publish(note="Default rule set")
    return True


# The merge (pure) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A place where the clinicians and the new default both changed something; the clinicians' stays."""

    kind: str
    id: str
    field: str
    detail: str

    def __str__(self) -> str:
        return self.detail


def canonical(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as the draft holds it: every field present, set-like lists in one order."""
    result: dict[str, Any] = {k: v for k, v in document.items() if k not in COLLECTION_NAMES}
    for collection, _, _ in COLLECTIONS:
        result[collection] = [_canonical_item(item, collection) for item in document.get(collection, [])]
    return result


def _canonical_item(item: Mapping[str, Any], collection: str) -> dict[str, Any]:
    found: dict[str, Any] = dict(item)
    for name in TRANSLATED_TEXTS.get(collection, ()):
        for language in (ENGLISH, *TRANSLATIONS):
            text = found.get(translated_name(name, language)) or ("" if name != "body" else [])
            # The draft keeps a body as non-empty, stripped lines.
            found[translated_name(name, language)] = text_lines("\n".join(text)) if name == "body" else text
        for language in TRANSLATIONS:
            found[checked_name(name, language)] = bool(found.get(checked_name(name, language), False))
    for name, default in FIELD_DEFAULTS.get(collection, {}).items():
        found.setdefault(name, default)
    if collection == "questions":
        found["options"] = [_canonical_item(o, "options") for o in found["options"]]
    for name in ("conditions", "show_when"):
        if name in found:
            # Which options a condition names is a set; the draft lists them by database key.
            found[name] = [{"question": c["question"], "options": sorted(c.get("options", []))} for c in found[name]]
    if collection in ("sections", "rules"):
        found["sources"] = sorted(found["sources"], key=_source_order)
    if collection == "scenarios":
        found["answers"] = {q: list(v) if isinstance(v, list) else [v] for q, v in found["answers"].items()}
        found["expected_rules"] = list(found["expected_rules"])
    return found


def _source_order(code: str) -> tuple[str, int, str]:
    # L2 before L10, as people count.
    digits = code[1:]
    return code[:1], int(digits) if digits.isdigit() else 0, code


def merge_documents(
    base: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Conflict]]:
    """Three-way merge of rule-set documents: theirs' changes to base, except where ours changed the same."""
    base, ours, theirs = canonical(base), canonical(ours), canonical(theirs)
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    for name in dict.fromkeys([*theirs, *ours]):
        if name in COLLECTION_NAMES:
            continue
        merged[name], conflict = _merge_value(base.get(name), ours.get(name), theirs.get(name))
        if conflict:
            conflicts.append(Conflict("Rule set", "", name, f"kept your edit: the rule set's {name}"))
    for collection, key, kind in COLLECTIONS:
        merged[collection], found = _merge_collection(
            collection=collection,
            key=key,
            kind=kind,
            label=lambda identifier, kind=kind: f"{kind} '{identifier}'",
            base=base[collection],
            ours=ours[collection],
            theirs=theirs[collection],
        )
        conflicts += found
    return merged, conflicts


def _merge_value(base: Any, ours: Any, theirs: Any) -> tuple[Any, bool]:
    """One field: (the merged value, whether both sides changed it differently)."""
    if ours in (base, theirs):
        return theirs, False
    if theirs == base:
        return ours, False
    return ours, True


def _merge_collection(
    *,
    collection: str,
    key: str,
    kind: str,
    label: Callable[[str], str],
    base: list[dict[str, Any]],
    ours: list[dict[str, Any]],
    theirs: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[Conflict]]:
    b, o, t = ({item[key]: item for item in items} for items in (base, ours, theirs))
    merged: dict[str, dict[str, Any]] = {}
    conflicts: list[Conflict] = []
    for identifier in dict.fromkeys([*o, *t]):
        if identifier in o and identifier in t:
            merged[identifier], found = _merge_item(
                collection=collection,
                key=key,
                kind=kind,
                label=label(identifier),
                base=b.get(identifier, {key: identifier}),
                ours=o[identifier],
                theirs=t[identifier],
            )
            conflicts += found
        elif identifier in o:
            if identifier in b and o[identifier] == b[identifier]:
                continue  # the new default removes it and nobody here changed it
            merged[identifier] = o[identifier]
            if identifier in b:
                detail = f"kept your edit: {label(identifier)} (the new default removes it, but it was changed here)"
                conflicts.append(Conflict(kind, identifier, "", detail))
        elif identifier not in b:
            merged[identifier] = _unchecked(dict(t[identifier]), collection)  # new in the new default
        elif t[identifier] != b[identifier]:
            detail = f"kept your removal: {label(identifier)} (the new default changes it; it was not brought back)"
            conflicts.append(Conflict(kind, identifier, "", detail))
    order, reordered_both = _merged_order(base=list(b), ours=list(o), theirs=list(t), kept=merged)
    if reordered_both:
        detail = f"kept your order of the {collection} (the new default also changes their order)"
        conflicts.append(Conflict(kind, "(order)", "order", detail))
    return [merged[identifier] for identifier in order], conflicts


def _merge_item(
    *,
    collection: str,
    key: str,
    kind: str,
    label: str,
    base: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any],
) -> tuple[dict[str, Any], list[Conflict]]:
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    identifier = ours[key]
    for field_name in dict.fromkeys([*theirs, *ours, *base]):
        if collection == "questions" and field_name == "options":
            merged[field_name], found = _merge_collection(
                collection="options",
                key="id",
                kind="Option",
                label=lambda option: f"Option '{identifier} = {option}'",
                base=base.get("options", []),
                ours=ours.get("options", []),
                theirs=theirs.get("options", []),
            )
            conflicts += found
            continue
        values = [side.get(field_name) for side in (base, ours, theirs)]
        present = next((v for v in values if v is not None), None)
        b, o, t = (_absent_as_default(v, present) for v in values)
        merged[field_name], conflict = _merge_value(b, o, t)
        if conflict:
            what = "wording" if isinstance(o, str) or field_name == "body" else "setting"
            detail = f"kept your edit: {label} {field_words(field_name)} (the new default {what} was not applied)"
            conflicts.append(Conflict(kind, identifier, field_name, detail))
    kept = {c.field for c in conflicts}
    for text, language in _translated_pairs(collection):
        versions = (text, translated_name(text, language))
        if any(merged[n] != ours.get(n) for n in versions):
            # A text that changed here has not been read against its translation at this site.
            merged[checked_name(text, language)] = False
            conflicts += _half_kept(kind=kind, identifier=identifier, label=label, versions=versions, kept=kept)
    return merged, conflicts


def _half_kept(*, kind: str, identifier: str, label: str, versions: tuple[str, str], kept: set[str]) -> list[Conflict]:
    """A text whose edit was kept in one language while the other language took the new wording."""
    if not any(n in kept for n in versions) or all(n in kept for n in versions):
        return []
    mine, other = versions if versions[0] in kept else versions[::-1]
    detail = (
        f"check the translation: {label} {field_words(mine)} keeps your edit, but "
        f"{field_words(other)} now has the new default wording"
    )
    return [Conflict(kind, identifier, other, detail)]


def _absent_as_default(value: Any, like: Any) -> Any:
    """A field one side lacks counts as that field's empty value (False, "", [] or {})."""
    if value is not None:
        return value
    return type(like)() if isinstance(like, bool | str | list | dict) else None


def _translated_pairs(collection: str) -> Iterable[tuple[str, str]]:
    return [(name, language) for name in TRANSLATED_TEXTS.get(collection, ()) for language in TRANSLATIONS]


def _unchecked(item: dict[str, Any], collection: str) -> dict[str, Any]:
    """An item new to this site: none of its translations has been checked here yet."""
    for name, language in _translated_pairs(collection):
        item[checked_name(name, language)] = False
    if collection == "questions":
        item["options"] = [_unchecked(dict(o), "options") for o in item["options"]]
    return item


def _merged_order(
    *, base: list[str], ours: list[str], theirs: list[str], kept: Mapping[str, Any]
) -> tuple[list[str], bool]:
    """The merged items' order, and whether both sides reordered the items they share."""
    shared = set(base) & set(ours) & set(theirs) & set(kept)
    base_order, ours_order, theirs_order = ([i for i in side if i in shared] for side in (base, ours, theirs))
    if ours_order == base_order:
        # Nobody here reordered: the new default's order, with items added here after their predecessor.
        return _weave(primary=[i for i in theirs if i in kept], secondary=[i for i in ours if i in kept]), False
    order = _weave(primary=[i for i in ours if i in kept], secondary=[i for i in theirs if i in kept])
    return order, theirs_order != base_order


def _weave(*, primary: list[str], secondary: list[str]) -> list[str]:
    """Primary's order, with each item only in secondary placed after the one before it in secondary."""
    result = list(primary)
    for index, identifier in enumerate(secondary):
        if identifier in result:
            continue
        before = next((p for p in reversed(secondary[:index]) if p in result), None)
        result.insert(0 if before is None else result.index(before) + 1, identifier)
    return result


def field_words(name: str) -> str:
    """A document field's name for people: `message_zh_hans` is "message (Chinese)"."""
    words, language = name.removesuffix("_checked"), ""
    for suffix, language_name in LANGUAGE_WORDS.items():
        if words.endswith(f"_{suffix}"):
            words, language = words.removesuffix(f"_{suffix}"), f" ({language_name})"
    words = FIELD_WORDS.get(words, words.replace("_", " ")) + language
    return f"{words} checked" if name.endswith("_checked") else words


def reference_problems(document: Mapping[str, Any]) -> list[str]:
    """What any rule, skip rule or section names that the document lacks, inactive ones too.

    document_problems checks only what patients can meet; the draft's rows need every reference.
    """
    options = {q["id"]: {o["id"] for o in q.get("options", [])} for q in document.get("questions", [])}
    codes = {s["code"] for s in document.get("sources", [])}
    problems: list[str] = []
    named = [(f"Rule '{r['id']}'", c) for r in document.get("rules", []) for c in r.get("conditions", [])]
    named += [
        (f"Skip rule of question '{q['id']}'", c) for q in document.get("questions", []) for c in q.get("show_when", [])
    ]
    for where, condition in named:
        target = condition["question"]
        missing = [o for o in condition.get("options", []) if o not in options.get(target, set())]
        if target not in options:
            problems.append(f"{where} names question '{target}', which the updated rule set does not have.")
        elif missing:
            names = ", ".join(repr(o) for o in missing)
            problems.append(f"{where} names {names} of '{target}', which the updated rule set does not have.")
    citing = [(f"Rule '{r['id']}'", r) for r in document.get("rules", [])]
    citing += [(f"Section '{s['id']}'", s) for s in document.get("sections", [])]
    for where, item in citing:
        problems += [f"{where} cites unknown source '{c}'." for c in item.get("sources", []) if c not in codes]
    return problems


# Writing the merged document into the draft ------------------------------------------------------


@dataclass(frozen=True)
class UpdateReport:
    """What an update did to the draft: the changes, the kept edits, and between which versions."""

    installed: int | None
    shipped: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    updated: bool = False
    loaded: bool = False


def update_draft(*, reason: str) -> UpdateReport:
    """Bring the shipped default content into the draft in place, keeping the clinicians' edits; never publish."""
    with transaction.atomic():
        installed, document = installed_content_version(), default_document()
        shipped = content_version(document)
        if _draft_is_empty():
            load_document(document, reason=reason)
            DefaultContentVersion.objects.get_or_create(version=shipped)
            return UpdateReport(installed=installed, shipped=shipped, loaded=True)
        if installed is not None and installed >= shipped:
            return UpdateReport(installed=installed, shipped=shipped)
        ours = canonical(draft_document())
        # A draft from before versioning was loaded from version 1.
        merged, conflicts = merge_documents(shipped_document(installed or 1), ours, document)
        # The same problem can be found by both checks; say it once.
        problems = list(dict.fromkeys(document_problems(merged) + reference_problems(merged)))
        if problems:
            raise ValidationError(problems)
        with change_reason(reason):
            write_draft(ours=ours, merged=merged, reason=reason)
        DefaultContentVersion.objects.get_or_create(version=shipped)
    return UpdateReport(
        installed=installed,
        shipped=shipped,
        changes=document_diff(ours, merged),
        conflicts=conflicts,
        updated=True,
    )


def write_draft(*, ours: Mapping[str, Any], merged: Mapping[str, Any], reason: str) -> None:
    """Make the draft hold `merged`, changing only what differs from `ours` (the draft as it is)."""
    before = {collection: {i[key]: i for i in ours[collection]} for collection, key, _ in COLLECTIONS}
    sources = _write_sources(merged["sources"], reason=reason)
    _write_sections(merged["sections"], before=before["sections"], sources=sources, reason=reason)
    questions, options = _write_questions(merged["questions"], reason=reason)
    _write_show_when(
        merged["questions"], before=before["questions"], questions=questions, options=options, reason=reason
    )
    _write_rules(
        merged["rules"], before=before["rules"], sources=sources, questions=questions, options=options, reason=reason
    )
    _write_scenarios(merged["scenarios"])
    # Removing comes last, so nothing kept ever loses a row through a cascade midway.
    _remove(Rule.objects.exclude(identifier__in=[r["id"] for r in merged["rules"]]), reason=reason)
    _remove(Option.objects.exclude(pk__in=[o.pk for o in options.values()]), reason=reason)
    _remove(Question.objects.exclude(identifier__in=list(questions)), reason=reason)
    _remove(GuidanceSection.objects.exclude(identifier__in=[s["id"] for s in merged["sections"]]), reason=reason)
    _remove(Source.objects.exclude(code__in=list(sources)), reason=reason)
    Scenario.objects.exclude(name__in=[s["name"] for s in merged["scenarios"]]).delete()


def _put[M: models.Model](instance: M, values: Mapping[str, Any], *, reason: str) -> M:
    """Set the values and save, only when something differs, so unchanged rows get no history."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if instance.pk is None or changed:
        for name, value in values.items():
            setattr(instance, name, value)
        instance._change_reason = reason  # type: ignore[attr-defined]  # simple-history reads it
        instance.save()
    return instance


def _remove(instances: Iterable[models.Model], *, reason: str) -> None:
    for instance in list(instances):
        instance._change_reason = reason  # type: ignore[attr-defined]
        instance.delete()


def _write_sources(items: list[dict[str, Any]], *, reason: str) -> dict[str, Source]:
    existing = {s.code: s for s in Source.objects.all()}
    return {
        s["code"]: _put(
            existing.get(s["code"]) or Source(code=s["code"]),
            {
                "document": s["document"],
                "url": s["url"],
                "summary": s["summary"],
                **translation_fields(s, "sources"),
                "order": i,
            },
            reason=reason,
        )
        for i, s in enumerate(items)
    }


def _write_sections(
    items: list[dict[str, Any]], *, before: Mapping[str, Any], sources: Mapping[str, Source], reason: str
) -> None:
    existing = {s.identifier: s for s in GuidanceSection.objects.all()}
    for i, s in enumerate(items):
        values = {"title": s["title"], "body": "\n".join(s["body"]), **translation_fields(s, "sections"), "order": i}
        section = _put(existing.get(s["id"]) or GuidanceSection(identifier=s["id"]), values, reason=reason)
        if before.get(s["id"], {}).get("sources") != s["sources"]:
            section.sources.set([sources[c] for c in s["sources"]])


def _write_questions(
    items: list[dict[str, Any]], *, reason: str
) -> tuple[dict[str, Question], dict[tuple[str, str], Option]]:
    existing = {q.identifier: q for q in Question.objects.all()}
    existing_options = {(o.question.identifier, o.identifier): o for o in Option.objects.select_related("question")}
    questions: dict[str, Question] = {}
    options: dict[tuple[str, str], Option] = {}
    for i, q in enumerate(items):
        values = {
            "text": q["text"],
            "help_text": q["help_text"],
            **translation_fields(q, "questions"),
            "multiple": q["multiple"],
            "active": q["active"],
            "order": (i + 1) * 10,
        }
        question = questions[q["id"]] = _put(
            existing.get(q["id"]) or Question(identifier=q["id"]), values, reason=reason
        )
        for j, o in enumerate(q["options"]):
            option = existing_options.get((q["id"], o["id"])) or Option(question=question, identifier=o["id"])
            values = {"label": o["label"], **translation_fields(o, "options"), "exclusive": o["exclusive"], "order": j}
            options[q["id"], o["id"]] = _put(option, values, reason=reason)
    return questions, options


def _write_show_when(
    items: list[dict[str, Any]],
    *,
    before: Mapping[str, Any],
    questions: Mapping[str, Question],
    options: Mapping[tuple[str, str], Option],
    reason: str,
) -> None:
    for q in items:
        if before.get(q["id"], {}).get("show_when") == q["show_when"]:
            continue
        _remove(ShowWhen.objects.filter(question=questions[q["id"]]), reason=reason)
        for condition in q["show_when"]:
            show_when = _put(
                ShowWhen(question=questions[q["id"]], depends_on=questions[condition["question"]]), {}, reason=reason
            )
            show_when.options.set([options[condition["question"], o] for o in condition["options"]])


def _write_rules(
    items: list[dict[str, Any]],
    *,
    before: Mapping[str, Any],
    sources: Mapping[str, Source],
    questions: Mapping[str, Question],
    options: Mapping[tuple[str, str], Option],
    reason: str,
) -> None:
    existing = {r.identifier: r for r in Rule.objects.all()}
    for i, r in enumerate(items):
        values = {
            "title": r["title"],
            "level": r["level"],
            "message": r["message"],
            "next_steps": r["next_steps"],
            "education_text": r["education_text"],
            **translation_fields(r, "rules"),
            "ends_check": r["ends_check"],
            "rationale": r["rationale"],
            "active": r["active"],
            "order": (i + 1) * 10,
        }
        rule = _put(existing.get(r["id"]) or Rule(identifier=r["id"]), values, reason=reason)
        old = before.get(r["id"], {})
        if old.get("sources") != r["sources"]:
            rule.sources.set([sources[c] for c in r["sources"]])
        if old.get("conditions") != r["conditions"]:
            _remove(Condition.objects.filter(rule=rule), reason=reason)
            for c in r["conditions"]:
                condition = _put(Condition(rule=rule, question=questions[c["question"]]), {}, reason=reason)
                condition.options.set([options[c["question"], o] for o in c["options"]])


def _write_scenarios(items: list[dict[str, Any]]) -> None:
    existing = {s.name: s for s in Scenario.objects.all()}
    for sc in items:
        values = {
            "answers": sc["answers"],
            "expected_overall": sc["expected_overall"],
            "expected_rules": sc["expected_rules"],
            "active": sc["active"],
        }
        scenario = existing.get(sc["name"]) or Scenario(name=sc["name"])
        if scenario.pk is None or any(getattr(scenario, n) != v for n, v in values.items()):
            for name, value in values.items():
                setattr(scenario, name, value)
            scenario.save()
