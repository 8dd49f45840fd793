"""The three-way merge behind a default content update: pure, documents in and a document out.

The version the draft was loaded from (base), the draft as the clinicians left it (ours) and the
newly shipped version (theirs). A clinician's edit always wins; where the new version changed the
same thing, the edit is kept and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from screening.documents import COLLECTIONS, LANGUAGE_NAMES
from screening.translations import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, checked_name, text_lines, translated_name

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

        def label(identifier: str, kind: str = kind) -> str:
            return f"{kind} '{identifier}'"

        merged[collection], found = _merge_collection(
            collection=collection,
            key=key,
            kind=kind,
            label=label,
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
