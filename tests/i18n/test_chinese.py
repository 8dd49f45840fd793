"""Simplified Chinese beside English: the interface catalogue, the Chinese content texts, the
language switch, the first visit, identifiers that never change with the language, the English
fallback for a missing translation, and the clinician's translation work in the admin.

Pages are read as a reader sees them: the text outside elements marked `lang="en"`, the title,
and the form fields. Expected Chinese comes from the committed catalogue (read with polib) and
from the default rule set document, never from the code under test.
"""

from __future__ import annotations

import ast
import functools
import html
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import translation

from screening import drafts, live, publishing
from screening.engine import RuleSet
from screening.models import GuidanceSection, PublishedRuleSet, Question, Rule
from screening.readability import check_text
from screening.translations import ENGLISH, TRANSLATED_TEXTS, TRANSLATIONS, checked_name, translated_name
from tests.support import patients
from tests.support.admin_forms import admin_form_data
from tests.support.client import HEALTHY_ADULT, HTMX, Value, answer, as_list, patient_url, question_url, stored_answers
from tests.support.commands import screen_from_stdin
from tests.support.patients import as_form_values, walk_check

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def single_clinician_publishing(settings: Any) -> None:
    """These tests publish through the publish page, which does so only where one clinician may publish alone."""
    settings.RUXGUIDE_SINGLE_CLINICIAN_PUBLISH = True


CHINESE = "zh-hans"
BASE_DIR = Path(settings.BASE_DIR)
CATALOGUE_DIR = BASE_DIR / "ruxguide" / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOGUE_DIR / "django.po"
MO_PATH = CATALOGUE_DIR / "django.mo"
DEFAULT_RULESET_PATH = BASE_DIR / "screening" / "default_ruleset.json"

SITE_NAME = "Ruxguide"
SWITCH_ID = "language-switch"

# A patient for whom rules of all five levels fire.
EVERY_LEVEL_BELOW_URGENT: dict[str, Value] = dict(as_form_values(patients.EVERY_LEVEL_BELOW_URGENT))
# The first answers of a visit, in the order the check asks them.
EARLY_STEPS: list[tuple[str, Value]] = [
    ("urgent_symptoms", "no"),
    ("condition", "vitiligo"),
    ("age_group", "18_to_64"),
    ("allergy", "not_sure"),
    ("pregnancy", "no"),
]

# Latin-script words a Chinese page may show: names, keys and abbreviations that Chinese keeps as they are.
LATIN_WORDS_IN_CHINESE = frozenset({SITE_NAME, "Opzelura", "Ctrl", "Command", "Mac", "P", "HIV", "JAK", "CYP3A4"})
SOURCE_CODE = re.compile(r"[SL]\d+")
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------------------------------
# Helpers: the catalogue and the default content
# ---------------------------------------------------------------------------------------------


@functools.cache
def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def zh(msgid: str) -> str:
    """The committed Chinese translation of an interface string."""
    entry = catalogue().find(msgid)
    assert entry is not None, f"{msgid!r} is not in the catalogue"
    translated = entry.msgstr_plural[0] if entry.msgid_plural else entry.msgstr
    assert translated, f"{msgid!r} has no translation"
    return translated


def page_title(text: str) -> str:
    return f"{text} \N{EN DASH} {SITE_NAME}"


def reader_text(msgid: str) -> str:
    """What a reader sees of an interface string: without markup, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", msgid)).split())


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def english_pattern(msgid: str) -> re.Pattern[str]:
    """Finds the English string in page text, whatever its placeholders were filled with."""
    parts = [re.escape(part) for part in PLACEHOLDER.split(reader_text(msgid))]
    return re.compile(r"(?<![A-Za-z])" + r".{1,300}?".join(parts) + r"(?![A-Za-z])")


@functools.cache
def english_interface_strings() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every English string of the catalogue (plurals too) worth looking for: not punctuation, not one letter."""
    strings = {text for entry in catalogue() for text in (entry.msgid, entry.msgid_plural) if text}
    return tuple(
        (text, english_pattern(text))
        for text in sorted(strings)
        if len(reader_text(text)) > 1 and re.search(r"[A-Za-z]", reader_text(text))
    )


def default_document() -> dict[str, Any]:
    """Read from the file itself, not through the code under test."""
    return json.loads(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))


def content_items(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(collection, a name for messages, item) for every item with patient-facing texts."""
    for question in document["questions"]:
        yield "questions", f"question {question['id']}", question
        for option in question["options"]:
            yield "options", f"option {question['id']}={option['id']}", option
    for rule in document["rules"]:
        yield "rules", f"rule {rule['id']}", rule
    for section in document["sections"]:
        yield "sections", f"section {section['id']}", section
    for source in document["sources"]:
        yield "sources", f"source {source['code']}", source


def content_texts(document: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(name, field, item) for every patient-facing text field of every item."""
    for collection, name, item in content_items(document):
        for field in TRANSLATED_TEXTS[collection]:
            yield name, field, item


def chinese_question_text(question_id: str) -> str:
    question = next(q for q in default_document()["questions"] if q["id"] == question_id)
    return question[translated_name("text", CHINESE)]


# ---------------------------------------------------------------------------------------------
# Helpers: reading a page as a reader sees it
# ---------------------------------------------------------------------------------------------

VOID_ELEMENTS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
NOT_SHOWN = frozenset({"script", "style", "template"})


@dataclass(frozen=True)
class Chunk:
    """A run of text with the language it is marked as and the rule it belongs to, if any."""

    text: str
    lang: str
    rule: str


class Page(HTMLParser):
    """An HTML page or htmx partial: its language, title, text, elements and form fields."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.title = ""
        self.chunks: list[Chunk] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        # Each field (input or button) with the attributes of the form that holds it, under "form:".
        self.fields: list[dict[str, str]] = []
        self._open: list[tuple[str, dict[str, str]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if tag in ("input", "button"):
            form = next((a for t, a in reversed(self._open) if t == "form"), {})
            self.fields.append({**attributes, **{f"form:{k}": v for k, v in form.items()}})
        if tag not in VOID_ELEMENTS:
            self._open.append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        if any(open_tag == tag for open_tag, _ in self._open):
            while self._open.pop()[0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        tags = [tag for tag, _ in self._open]
        if "title" in tags:
            self.title += data
            return
        if NOT_SHOWN & set(tags) or not data.strip():
            return
        lang = next((a["lang"] for _, a in reversed(self._open) if "lang" in a), "")
        rule = next((a["data-rule"] for _, a in reversed(self._open) if "data-rule" in a), "")
        self.chunks.append(Chunk(text=data, lang=lang.lower(), rule=rule))

    def text(self, *, without_lang: str | None = None) -> str:
        """The visible text, leaving out what is marked as being in `without_lang`."""
        return " ".join(" ".join(c.text for c in self.chunks if c.lang != without_lang).split())

    def with_attribute(self, name: str) -> list[str]:
        return [attrs[name] for _, attrs in self.elements if name in attrs]

    def answer_fields(self) -> list[tuple[str, str, str, str]]:
        """(type, name, value, id) of each answer choice, in page order."""
        return [
            (f["type"], f["name"], f["value"], f["id"]) for f in self.fields if f.get("type") in ("radio", "checkbox")
        ]

    def checked(self, question_id: str) -> list[str]:
        return [f["value"] for f in self.fields if f.get("name") == question_id and "checked" in f]

    def switch(self) -> dict[str, str]:
        """The language switch: its form's attributes, `next`, and the language its button asks for."""
        switches = [f for f in self.fields if f.get("form:id") == SWITCH_ID]
        assert switches, "no language switch on this page"
        form = {k.removeprefix("form:"): v for k, v in switches[0].items() if k.startswith("form:")}
        values = {f["name"]: f["value"] for f in switches if f.get("name")}
        return {**form, "next": values.get("next", ""), "language": values.get("language", "")}


def read(response: HttpResponse) -> Page:
    return Page(response.content.decode())


def latin_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z0-9]*", text))


# ---------------------------------------------------------------------------------------------
# Helpers: the patient flow in a language
# ---------------------------------------------------------------------------------------------


def walk(client: Client, language: str, **overrides: Value) -> Iterator[tuple[str, HttpResponse]]:
    """Follow the check from its beginning to "check your answers", yielding each question page.

    Answers as the healthy adult, with `overrides`.
    """
    given = {question_id: as_list(value) for question_id, value in {**HEALTHY_ADULT, **overrides}.items()}
    yield from walk_check(client, given, language=language)


def complete(client: Client, language: str, **overrides: Value) -> dict[str, list[str]]:
    """Answer every question the check still asks, in a language; the answers given, in the order asked."""
    given = {**HEALTHY_ADULT, **overrides}
    return {question_id: as_list(given[question_id]) for question_id, _ in walk(client, language, **overrides)}


def switch_language(client: Client, language: str, next_url: str, *, on: str = ENGLISH) -> HttpResponse:
    """Press the language switch of a page in language `on`."""
    return client.post(patient_url("language", language=on), {"language": language, "next": next_url})


# ---------------------------------------------------------------------------------------------
# 1. No English interface string on a Chinese patient page
# ---------------------------------------------------------------------------------------------

# Each Chinese page: how a patient gets there, and the title the catalogue (or the content) gives it.
ChinesePage = Callable[[Client], tuple[HttpResponse, str]]
CHINESE_PAGES: dict[str, ChinesePage] = {}


def chinese_page(name: str) -> Callable[[ChinesePage], ChinesePage]:
    def register(build: ChinesePage) -> ChinesePage:
        CHINESE_PAGES[name] = build
        return build

    return register


def expect(response: HttpResponse, status: int) -> HttpResponse:
    assert response.status_code == status, (response.status_code, response.content[:300])
    return response


@chinese_page("start")
def start_page(client: Client) -> tuple[HttpResponse, str]:
    return expect(client.get("/zh-hans/"), 200), zh("Check before you use ruxolitinib cream")


@chinese_page("question")
def first_question_page(client: Client) -> tuple[HttpResponse, str]:
    client.get(patient_url("begin", language=CHINESE))
    response = client.get("/zh-hans/check/question/urgent_symptoms/")
    return expect(response, 200), chinese_question_text("urgent_symptoms")


@chinese_page("question with several answers")
def several_answers_page(client: Client) -> tuple[HttpResponse, str]:
    answer(client, [*EARLY_STEPS, ("breastfeeding", "no"), ("weakened_immunity", "no")], language=CHINESE)
    response = client.get(question_url("other_medicines", language=CHINESE))
    return expect(response, 200), chinese_question_text("other_medicines")


@chinese_page("question with an error")
def question_error_page(client: Client) -> tuple[HttpResponse, str]:
    client.get(patient_url("begin", language=CHINESE))
    response = client.post(question_url("urgent_symptoms", language=CHINESE), {})
    title = zh("Error: %(question)s") % {"question": chinese_question_text("urgent_symptoms")}
    return expect(response, 200), title


@chinese_page("question with a slip")
def question_slip_page(client: Client) -> tuple[HttpResponse, str]:
    answer(client, [*EARLY_STEPS, ("breastfeeding", "no"), ("weakened_immunity", "no")], language=CHINESE)
    response = client.post(
        question_url("other_medicines", language=CHINESE), {"other_medicines": ["none", "steroid_on_skin"]}
    )
    title = zh("Error: %(question)s") % {"question": chinese_question_text("other_medicines")}
    return expect(response, 200), title


@chinese_page("htmx partial of a question")
def question_partial(client: Client) -> tuple[HttpResponse, str]:
    client.get(patient_url("begin", language=CHINESE))
    response = client.get(question_url("urgent_symptoms", language=CHINESE), headers=HTMX)
    return expect(response, 200), chinese_question_text("urgent_symptoms")


@chinese_page("check your answers")
def check_answers_page(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE, **EVERY_LEVEL_BELOW_URGENT)
    return expect(client.get("/zh-hans/check/answers/"), 200), zh("Check your answers")


@chinese_page("result with cautions")
def result_with_cautions(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE, **EVERY_LEVEL_BELOW_URGENT)
    return expect(client.get("/zh-hans/check/result/"), 200), zh("Your result")


@chinese_page("result with one caution")
def result_with_one_caution(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE, age_group="65_or_over")
    return expect(client.get("/zh-hans/check/result/"), 200), zh("Your result")


@chinese_page("result with no cautions")
def result_without_cautions(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE)
    return expect(client.get("/zh-hans/check/result/"), 200), zh("Your result")


@chinese_page("printable result")
def printable_result(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE, **EVERY_LEVEL_BELOW_URGENT)
    return expect(client.get("/zh-hans/check/result/print/"), 200), zh("Your result to print")


@chinese_page("printable result with no cautions")
def printable_result_without_cautions(client: Client) -> tuple[HttpResponse, str]:
    complete(client, CHINESE)
    return expect(client.get("/zh-hans/check/result/print/"), 200), zh("Your result to print")


@chinese_page("education")
def education_page(client: Client) -> tuple[HttpResponse, str]:
    response = client.get("/zh-hans/about-the-cream/")
    return expect(response, 200), zh("About ruxolitinib cream: who should not use it")


@chinese_page("404")
def not_found_page(client: Client) -> tuple[HttpResponse, str]:
    return expect(client.get("/zh-hans/no-such-page/"), 404), zh("We could not find that page")


@chinese_page("409")
def conflict_page(client: Client) -> tuple[HttpResponse, str]:
    return expect(client.get("/zh-hans/check/answers/"), 409), zh("There are no answers yet")


@chinese_page("400 refused language")
def refused_language_page(client: Client) -> tuple[HttpResponse, str]:
    response = switch_language(client, "fr", "/zh-hans/", on=CHINESE)
    return expect(response, 400), zh("We could not change the language")


@chinese_page("403 missing security token")
def csrf_failure_page(client: Client) -> tuple[HttpResponse, str]:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(question_url("urgent_symptoms", language=CHINESE), {"urgent_symptoms": "no"})
    return expect(response, 403), zh("We could not save that answer")


@chinese_page("405")
def method_not_allowed_page(client: Client) -> tuple[HttpResponse, str]:
    return expect(client.put("/zh-hans/check/"), 405), zh("This page cannot be used that way")


@pytest.mark.parametrize("name", CHINESE_PAGES)
def test_no_english_interface_string_shows_on_a_chinese_page(client: Client, published_rules: RuleSet, name: str):
    response, _ = CHINESE_PAGES[name](client)
    text = read(response).text(without_lang=ENGLISH)
    assert CJK.search(text), "the page shows no Chinese at all"
    leaked = [msgid for msgid, pattern in english_interface_strings() if pattern.search(text)]
    assert leaked == []


@pytest.mark.parametrize("name", CHINESE_PAGES)
def test_a_chinese_page_shows_no_english_word_outside_text_marked_as_english(
    client: Client, published_rules: RuleSet, name: str
):
    """Also catches English that is not in the catalogue at all (a string never marked for translation)."""
    response, _ = CHINESE_PAGES[name](client)
    words = latin_words(read(response).text(without_lang=ENGLISH))
    assert {w for w in words if w not in LATIN_WORDS_IN_CHINESE and not SOURCE_CODE.fullmatch(w)} == set()


@pytest.mark.parametrize("name", CHINESE_PAGES)
def test_a_chinese_page_says_it_is_chinese_and_has_its_chinese_title(
    client: Client, published_rules: RuleSet, name: str
):
    response, title = CHINESE_PAGES[name](client)
    page = read(response)
    if "htmx" in name:
        assert page.html_lang is None  # a partial, swapped into a Chinese page
        assert response["Content-Language"] == CHINESE
    else:
        assert page.html_lang == CHINESE
    assert page.title == page_title(title)


def test_the_english_strings_looked_for_are_found_on_an_english_page(client: Client, published_rules: RuleSet):
    """The search would see English if it were there: the English start page is full of it."""
    page = read(client.get("/"))
    found = [msgid for msgid, pattern in english_interface_strings() if pattern.search(page.text())]
    assert "Check before you use ruxolitinib cream" in found
    assert (
        "Answer %(fewest)s to %(most)s short questions about your health and your medicines. We will show you "
        "which cautions apply to you and what to do next." in found
    )  # placeholders filled in
    assert len(found) >= 15
    assert page.html_lang == ENGLISH


# ---------------------------------------------------------------------------------------------
# 2. Every default content text in both languages, unchecked, and without wording warnings
# ---------------------------------------------------------------------------------------------


def test_the_translated_texts_are_every_patient_facing_text() -> None:
    assert TRANSLATED_TEXTS == {
        "questions": ("text", "help_text"),
        "options": ("label",),
        "rules": ("title", "message", "next_steps", "education_text"),
        "sections": ("title", "body"),
        "sources": ("summary",),
    }
    assert TRANSLATIONS == {CHINESE: "zh_hans"}


def test_every_default_english_text_has_a_chinese_version() -> None:
    missing = []
    for name, field, item in content_texts(default_document()):
        english, chinese = item.get(field), item.get(translated_name(field, CHINESE))
        if english and not chinese:
            missing.append(f"{name}: {field}")
        if chinese and not english:
            missing.append(f"{name}: {field} has Chinese only")
    assert missing == []


def test_every_default_chinese_text_is_written_in_chinese() -> None:
    """A copy of the English in the Chinese field would pass as "translated"."""
    not_chinese = []
    for name, field, item in content_texts(default_document()):
        chinese = item.get(translated_name(field, CHINESE)) or []
        for line in [chinese] if isinstance(chinese, str) else chinese:
            if not CJK.search(line):
                not_chinese.append(f"{name}: {field}: {line}")
    assert not_chinese == []


def test_every_default_chinese_body_has_as_many_lines_as_the_english() -> None:
    counts = {
        section["id"]: (len(section["body"]), len(section[translated_name("body", CHINESE)]))
        for section in default_document()["sections"]
    }
    assert counts, "no sections"
    assert all(isinstance(line, str) and line.strip() for s in default_document()["sections"] for line in s["body"])
    assert {section: (en, zh) for section, (en, zh) in counts.items() if en != zh} == {}


def test_every_default_translation_ships_unchecked() -> None:
    flags = {
        f"{name}: {field}": item.get(checked_name(field, CHINESE), "absent")
        for name, field, item in content_texts(default_document())
    }
    assert flags
    assert {text: flag for text, flag in flags.items() if flag is not False} == {}


def test_no_default_chinese_text_gets_a_wording_warning() -> None:
    warned = {}
    for name, field, item in content_texts(default_document()):
        chinese = item.get(translated_name(field, CHINESE)) or []
        for line in [chinese] if isinstance(chinese, str) else chinese:
            warnings = check_text(line, CHINESE).warnings
            if warnings:
                warned[f"{name}: {field}: {line}"] = warnings
    assert warned == {}


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        ("使用这种乳膏很安全。", "安全"),
        ("我们保证没有副作用。", "保证"),
        ("请放心使用。", "放心"),
        ("这" * 41 + "。", "41"),
    ],
)
def test_the_chinese_wording_check_would_warn(text: str, warning: str) -> None:
    """The check the defaults pass is one that can fail."""
    assert any(warning in message for message in check_text(text, CHINESE).warnings)


# ---------------------------------------------------------------------------------------------
# 3. The catalogue: complete, not fuzzy, compiled, and in step with the code
# ---------------------------------------------------------------------------------------------


def test_every_catalogue_entry_is_translated_and_none_is_fuzzy_or_obsolete() -> None:
    po = catalogue()
    assert len(po) > 50
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.obsolete_entries()] == []
    assert [e.msgid for e in po if e.msgid_plural and not all(e.msgstr_plural.values())] == []
    assert po.metadata["Plural-Forms"].startswith("nplurals=1;")


def test_every_translation_keeps_the_placeholders_and_links_of_its_english() -> None:
    def kept(text: str) -> tuple[list[str], list[str]]:
        return sorted(PLACEHOLDER.findall(text)), sorted(re.findall(r"<[^>]+>", text))

    broken = [
        entry.msgid
        for entry in catalogue()
        for translated in ([entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values()))
        if kept(entry.msgid_plural or entry.msgid) != kept(translated)
    ]
    assert broken == []


def _translations(entries: Any) -> dict[tuple[str | None, str], tuple[str, dict[int, str]]]:
    return {
        (entry.msgctxt, entry.msgid): (entry.msgstr, {int(k): v for k, v in entry.msgstr_plural.items()})
        for entry in entries
        if entry.msgid and not entry.obsolete
    }


def test_the_committed_mo_holds_exactly_the_translations_of_the_po() -> None:
    compiled = _translations(polib.mofile(str(MO_PATH)))
    assert compiled == _translations(catalogue())


# Where the code marks interface strings: Python calls and template tags.
GETTEXT_CALLS = {"_": 0, "gettext": 0, "gettext_lazy": 0, "ngettext": 0, "ngettext_lazy": 0}
CONTEXT_CALLS = {"pgettext": 1, "pgettext_lazy": 1}
STRING = r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
TRANSLATE_TAG = re.compile(r"{%\s*translate\s+" + STRING + r"(?:\s+context\s+" + STRING + r")?[^%]*%}")
BLOCKTRANSLATE_TAG = re.compile(r"{%\s*blocktranslate\b([^%]*)%}(.*?){%\s*endblocktranslate\s*%}", re.S)


def marked_in_python(path: Path) -> Iterator[tuple[str | None, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if node.func.id in GETTEXT_CALLS and strings:
            yield None, strings[0]
            if node.func.id.startswith("ngettext") and len(strings) > 1:
                yield None, strings[1]
        elif node.func.id in CONTEXT_CALLS and len(strings) > 1:
            yield strings[0], strings[1]


def marked_in_template(path: Path) -> Iterator[tuple[str | None, str]]:
    source = path.read_text(encoding="utf-8")
    for match in TRANSLATE_TAG.finditer(source):
        msgid = match.group(1) if match.group(1) is not None else match.group(2)
        context = match.group(3) if match.group(3) is not None else match.group(4)
        yield context, msgid
    for match in BLOCKTRANSLATE_TAG.finditer(source):
        options, body = match.groups()
        context = re.search(r"context\s+" + STRING, options)
        for part in re.split(r"{%\s*plural\s*%}", body):
            msgid = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", part)
            if "trimmed" in options.split():
                msgid = re.sub(r"\s*\n\s*", " ", msgid.strip())
            yield (context.group(1) or context.group(2)) if context else None, msgid


def test_every_string_the_code_marks_for_translation_is_in_the_catalogue() -> None:
    """A string never rendered by the page tests (the preview banner, the 500 page) is still covered."""
    python_files = [
        path
        for package in ("ruxguide", "screening")
        for path in (BASE_DIR / package).rglob("*.py")
        if "migrations" not in path.parts
    ]
    marked = {key for path in python_files for key in marked_in_python(path)}
    marked |= {key for path in (BASE_DIR / "templates").rglob("*.html") for key in marked_in_template(path)}
    in_catalogue = {(e.msgctxt, e.msgid) for e in catalogue()} | {(e.msgctxt, e.msgid_plural) for e in catalogue()}
    assert ("between answer choices", "or") in marked
    assert (None, "Question %(position)s of about %(total)s") in marked
    assert len(marked) > 50
    assert sorted(marked - in_catalogue, key=str) == []


# ---------------------------------------------------------------------------------------------
# 4. Switching language mid-check keeps every answer
# ---------------------------------------------------------------------------------------------


def test_switching_to_chinese_mid_check_opens_the_same_question_in_chinese(client: Client, published_rules):
    answer(client, EARLY_STEPS)
    current = question_url("breastfeeding")
    response = switch_language(client, CHINESE, current)
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/check/question/breastfeeding/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == CHINESE

    page = read(expect(client.get(response["Location"]), 200))
    assert page.html_lang == CHINESE
    assert page.title == page_title(chinese_question_text("breastfeeding"))
    assert {name for _, name, _, _ in page.answer_fields()} == {"breastfeeding"}
    assert "/zh-hans/check/question/pregnancy/" in page.with_attribute("href")  # Back, to the earlier answer


def test_answers_given_in_english_are_all_there_in_chinese_and_after_switching_back(client: Client, published_rules):
    answer(client, EARLY_STEPS)
    expect(switch_language(client, CHINESE, question_url("breastfeeding")), 302)
    later = complete(client, CHINESE, other_medicines=["steroid_on_skin", "strong_cyp3a4_inhibitors"])
    assert next(iter(later)) == "breastfeeding"  # the check went on where it was
    asked = {**{question: as_list(value) for question, value in EARLY_STEPS}, **later}

    summary = read(expect(client.get("/zh-hans/check/answers/"), 200))
    change_links = [href for href in summary.with_attribute("href") if href.endswith("?change=1")]
    assert change_links == [question_url(q, language=CHINESE, change=True) for q in asked]
    for question_id, values in asked.items():
        page = read(expect(client.get(question_url(question_id, language=CHINESE, change=True)), 200))
        assert page.html_lang == CHINESE
        assert page.checked(question_id) == values, question_id

    response = switch_language(client, ENGLISH, "/zh-hans/check/answers/", on=CHINESE)
    assert response["Location"] == "/check/answers/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ENGLISH
    expect(client.get("/check/answers/"), 200)
    for question_id, values in asked.items():
        page = read(client.get(question_url(question_id, change=True)))
        assert page.html_lang == ENGLISH
        assert page.checked(question_id) == values, question_id
    assert stored_answers(client) == asked


def test_switching_language_on_the_result_keeps_the_same_outcome(client: Client, published_rules):
    complete(client, ENGLISH, **EVERY_LEVEL_BELOW_URGENT)
    english = read(client.get("/check/result/"))
    response = switch_language(client, CHINESE, "/check/result/")
    assert response["Location"] == "/zh-hans/check/result/"
    chinese = read(expect(client.get(response["Location"]), 200))
    assert chinese.with_attribute("data-rule") == english.with_attribute("data-rule")
    assert chinese.with_attribute("data-level") == english.with_attribute("data-level")


def test_switching_keeps_the_query_of_a_change_link(client: Client, published_rules):
    complete(client, ENGLISH)
    response = switch_language(client, CHINESE, question_url("condition", change=True))
    assert response["Location"] == "/zh-hans/check/question/condition/?change=1"
    page = read(client.get(response["Location"]))
    assert "/zh-hans/check/answers/" in page.with_attribute("href")  # Back goes to check your answers


# ---------------------------------------------------------------------------------------------
# 5. Identifiers do not change with the language
# ---------------------------------------------------------------------------------------------


def test_every_question_has_the_same_field_names_and_option_values_in_both_languages(published_rules: RuleSet):
    fields: dict[str, dict[str, list[tuple[str, str, str, str]]]] = {}
    for language in (ENGLISH, CHINESE):
        fields[language] = {question_id: read(page).answer_fields() for question_id, page in walk(Client(), language)}
    assert list(fields[CHINESE]) == list(fields[ENGLISH])
    assert set(fields[ENGLISH]) == {question.id for question in published_rules.questions}
    assert fields[CHINESE] == fields[ENGLISH]
    for question in published_rules.questions:
        assert [value for _, _, value, _ in fields[CHINESE][question.id]] == list(question.option_ids)


@pytest.mark.parametrize(
    "overrides",
    [
        EVERY_LEVEL_BELOW_URGENT,
        {},
        {"age_group": "2_to_11", "condition": "vitiligo"},
        {"side_effects": ["skin_reaction"]},
    ],
    ids=["every level below urgent", "no cautions", "child with vitiligo", "skin reaction"],
)
@pytest.mark.parametrize("page", ["result", "result_print"])
def test_the_result_names_the_same_rules_and_levels_in_both_languages(published_rules, overrides, page):
    seen = {}
    for language in (ENGLISH, CHINESE):
        client = Client()
        complete(client, language, **overrides)
        result = read(expect(client.get(patient_url(page, language=language)), 200))
        assert result.html_lang == language
        seen[language] = (result.with_attribute("data-rule"), result.with_attribute("data-level"))
    assert seen[CHINESE] == seen[ENGLISH]
    assert seen[ENGLISH][1], "no level shown"


def run_screen(monkeypatch: pytest.MonkeyPatch, answers: Mapping[str, Value]) -> str:
    return screen_from_stdin(monkeypatch, answers)


@pytest.mark.parametrize("overrides", [EVERY_LEVEL_BELOW_URGENT, {}, {"age_group": "2_to_11", "pregnancy": "pregnant"}])
def test_the_screen_command_prints_the_same_identifiers_in_chinese(
    published_rules: RuleSet, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Value]
):
    answers = {**HEALTHY_ADULT, **overrides}
    english = run_screen(monkeypatch, answers)
    with translation.override(CHINESE):
        # The command reads the rule set in the active language: here, the Chinese one.
        assert live.current_ruleset().question("urgent_symptoms").text == chinese_question_text("urgent_symptoms")
        chinese = run_screen(monkeypatch, answers)
    assert chinese == english
    assert set(json.loads(english)) == {"overall", "outcomes", "ignored"}
    assert not CJK.search(chinese)


# ---------------------------------------------------------------------------------------------
# 6. The first visit
# ---------------------------------------------------------------------------------------------


def vary(response: HttpResponse) -> list[str]:
    return [header.strip().lower() for header in response.get("Vary", "").split(",")]


@pytest.mark.parametrize("accept", ["zh-CN,zh;q=0.9", "zh", "zh-Hans", "en-GB;q=0.5,zh-CN"])
def test_a_first_visit_from_a_chinese_browser_goes_to_the_chinese_start_page(client, published_rules, accept):
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/"
    assert "accept-language" in vary(response)
    assert read(expect(client.get(response["Location"]), 200)).html_lang == CHINESE


@pytest.mark.parametrize("accept", [None, "en", "en-GB,en;q=0.9,zh;q=0.8", "fr-FR"])
def test_a_first_visit_from_another_browser_stays_on_the_english_start_page(client, published_rules, accept):
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert read(response).html_lang == ENGLISH
    assert "Check before you use ruxolitinib cream" in read(response).title
    assert "accept-language" in vary(response)


def test_a_chosen_chinese_goes_to_the_chinese_start_page(client: Client, published_rules: RuleSet):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = CHINESE
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/"


def test_a_chosen_english_wins_over_a_chinese_browser(client: Client, published_rules: RuleSet):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = ENGLISH
    response = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 200
    assert read(response).html_lang == ENGLISH


@pytest.mark.parametrize(
    ("url", "status"),
    [("/check/answers/", 409), ("/about-the-cream/", 200), ("/check/", 302), ("/no-such-page/", 404)],
)
def test_a_deep_link_keeps_its_english_whatever_the_browser_prefers(client, published_rules, url, status):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = CHINESE
    response = client.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/check/question/urgent_symptoms/"
    else:
        assert read(response).html_lang == ENGLISH


@pytest.mark.parametrize(
    ("url", "status"), [("/zh-hans/", 200), ("/zh-hans/about-the-cream/", 200), ("/zh-hans/check/answers/", 409)]
)
@pytest.mark.parametrize("preference", ["accept-language", "cookie"])
def test_a_chinese_page_stays_chinese_whatever_the_browser_prefers(client, published_rules, url, status, preference):
    if preference == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = ENGLISH
    response = client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == status
    assert read(response).html_lang == CHINESE
    assert response["Content-Language"] == CHINESE


def test_the_admin_stays_english_for_a_chinese_reader(admin_client: Client, published_rules: RuleSet):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = CHINESE
    response = admin_client.get(reverse("admin:index"), headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.status_code == 200
    assert read(response).html_lang == ENGLISH
    expect(admin_client.get("/zh-hans/admin/"), 404)


# ---------------------------------------------------------------------------------------------
# 7. The language switch
# ---------------------------------------------------------------------------------------------

SWITCHED_PAGES = [
    ("start", []),
    ("education", []),
    ("question", ["urgent_symptoms"]),
    ("check_answers", []),
    ("result", []),
    ("result_print", []),
]


@pytest.mark.parametrize(("name", "args"), SWITCHED_PAGES, ids=[name for name, _ in SWITCHED_PAGES])
@pytest.mark.parametrize("language", [ENGLISH, CHINESE])
def test_every_patient_page_has_a_switch_to_the_same_page_in_the_other_language(
    client: Client, published_rules: RuleSet, name: str, args: list[str], language: str
):
    complete(client, language)
    url = patient_url(name, *args, language=language)
    switch = read(expect(client.get(url), 200)).switch()
    other = CHINESE if language == ENGLISH else ENGLISH
    assert switch["method"] == "post"
    assert switch["action"] == patient_url("language", language=language)
    assert switch["next"] == url
    assert switch["language"] == other

    response = client.post(switch["action"], {"language": switch["language"], "next": switch["next"]})
    assert response.status_code == 302
    assert response["Location"] == patient_url(name, *args, language=other)
    assert read(expect(client.get(response["Location"]), 200)).html_lang == other


def test_the_switch_works_as_a_plain_form_post_and_remembers_the_choice(client: Client, published_rules):
    response = switch_language(client, CHINESE, "/about-the-cream/")
    assert response.status_code == 302
    assert "HX-Redirect" not in response
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == CHINESE
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert client.get("/")["Location"] == "/zh-hans/"  # the start page now follows the choice


@pytest.mark.parametrize("language", ["fr", "", "zh-hant", "ZH-HANS", "zh_hans", "en-us"])
def test_an_unknown_language_is_refused_with_400_and_keeps_the_answers(client, published_rules, language):
    answer(client, EARLY_STEPS[:2])
    response = client.post("/language/", {"language": language, "next": "/check/"})
    assert response.status_code == 400
    page = read(response)
    assert "We could not change the language" in page.text()
    assert "That language is not one we offer. Your answers so far are kept." in page.text()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert stored_answers(client) == {q: as_list(v) for q, v in EARLY_STEPS[:2]}


def test_an_unknown_language_is_refused_in_the_language_of_the_page(client: Client, published_rules: RuleSet):
    response = switch_language(client, "fr", "/zh-hans/", on=CHINESE)
    assert response.status_code == 400
    assert zh("That language is not one we offer. Your answers so far are kept.") in read(response).text()


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/check/",
        "//evil.example/check/",
        "///evil.example/",
        "https://testserver/check/answers/",
        "javascript:alert(1)",
        "/admin/",
        "/admin/screening/rule/",
        "/favicon.ico",
        "/static/css/app.css",
        "/no-such-page/",
        "check/answers/",
        "",
    ],
)
@pytest.mark.parametrize("language", [ENGLISH, CHINESE])
def test_a_next_address_that_is_not_a_patient_page_goes_to_the_start_page(client, published_rules, next_url, language):
    response = client.post("/language/", {"language": language, "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == patient_url("start", language=language)


def test_a_percent_encoded_next_address_is_the_same_page(client: Client, published_rules: RuleSet):
    response = switch_language(client, CHINESE, "/check/question/urgent%5Fsymptoms/?change=1")
    assert response["Location"] == "/zh-hans/check/question/urgent_symptoms/?change=1"


def test_a_switch_without_a_next_address_goes_to_the_start_page(client: Client, published_rules: RuleSet):
    response = client.post("/language/", {"language": CHINESE})
    assert response["Location"] == "/zh-hans/"


def test_the_switch_refuses_get(client: Client, published_rules: RuleSet):
    response = client.get("/language/", {"language": CHINESE, "next": "/"})
    assert response.status_code == 405
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_a_switch_posted_from_another_site_is_refused_with_403(published_rules: RuleSet):
    strict = Client(enforce_csrf_checks=True)
    switch = read(strict.get("/about-the-cream/")).switch()
    form = {"language": switch["language"], "next": switch["next"]}
    for elsewhere in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        response = strict.post(switch["action"], form, headers=elsewhere)
        assert response.status_code == 403, elsewhere
        assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert strict.get("/").status_code == 200  # no choice was remembered


def test_a_switch_from_this_site_needs_no_security_token(published_rules: RuleSet):
    """The switch only sets a preference, so the pages that carry it hold no per-patient token."""
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/about-the-cream/")
    assert b"csrfmiddlewaretoken" not in page.content
    assert "csrftoken" not in page.cookies
    form = {"language": CHINESE, "next": "/about-the-cream/"}
    for this_site in ({"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://testserver"}, {}):
        assert strict.post("/language/", form, headers=this_site)["Location"] == "/zh-hans/about-the-cream/"


def oob_switch(response: HttpResponse) -> dict[str, str]:
    page = read(response)
    assert page.html_lang is None, "not a partial"
    switch = page.switch()
    assert switch.get("hx-swap-oob") == "true"
    return switch


def test_an_htmx_question_partial_carries_the_switch_for_its_pushed_address(client: Client, published_rules):
    client.get("/zh-hans/check/")
    response = client.get("/zh-hans/check/question/urgent_symptoms/", headers=HTMX)
    switch = oob_switch(response)
    assert switch["next"] == response["HX-Push-Url"] == "/zh-hans/check/question/urgent_symptoms/"
    assert switch["language"] == ENGLISH
    assert switch["action"] == "/zh-hans/language/"


def test_an_htmx_answer_carries_the_switch_for_the_next_questions_address(client: Client, published_rules):
    client.get("/check/")
    response = client.post("/check/question/urgent_symptoms/", {"urgent_symptoms": "no"}, headers=HTMX)
    switch = oob_switch(response)
    assert response["HX-Push-Url"] == "/check/question/condition/"
    assert switch["next"] == "/check/question/condition/"
    assert switch["language"] == CHINESE
    answered = switch_language(client, switch["language"], switch["next"])
    assert answered["Location"] == "/zh-hans/check/question/condition/"


def test_the_last_htmx_answer_carries_the_switch_for_check_your_answers(client: Client, published_rules):
    complete(client, CHINESE)
    response = client.post(question_url("side_effects", language=CHINESE), {"side_effects": ["none"]}, headers=HTMX)
    switch = oob_switch(response)
    assert switch["next"] == response["HX-Push-Url"] == "/zh-hans/check/answers/"


@pytest.mark.parametrize("url", ["/check/result/", "/about-the-cream/", "/check/answers/", "/"])
def test_every_htmx_partial_carries_the_switch_for_its_pushed_address(client: Client, published_rules, url):
    complete(client, ENGLISH)
    response = client.get(url, headers=HTMX)
    assert oob_switch(response)["next"] == response["HX-Push-Url"] == url


def test_the_switch_on_the_page_of_a_refused_switch_opens_a_page(client: Client, published_rules: RuleSet):
    refused = switch_language(client, "fr", "/about-the-cream/")
    assert refused.status_code == 400
    switch = read(refused).switch()
    response = client.post(switch["action"], {"language": switch["language"], "next": switch["next"]}, follow=True)
    assert response.status_code == 200
    assert read(response).html_lang == CHINESE


# ---------------------------------------------------------------------------------------------
# 8. A missing Chinese text falls back to English, marked as English
# ---------------------------------------------------------------------------------------------


def change_draft(instance: Any, reason: str, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(instance, name, value)
    instance._change_reason = reason
    instance.save()


def english_rule(rule_id: str) -> dict[str, Any]:
    return next(rule for rule in default_document()["rules"] if rule["id"] == rule_id)


@pytest.fixture
def allergy_title_in_english_only(published_rules: RuleSet) -> str:
    """Publish a rule set in which the allergy rule's title has no Chinese version."""
    rule = Rule.objects.get(identifier="allergy")
    change_draft(rule, "Chinese title to be rewritten", title_zh_hans="", title_zh_hans_checked=False)
    publishing.publish(note="Allergy title in English only for now")
    return english_rule("allergy")["title"]


@pytest.mark.parametrize("page", ["result", "result_print", "education"])
def test_a_rule_without_a_chinese_title_shows_its_english_title_marked_as_english(
    client: Client, allergy_title_in_english_only: str, page: str
):
    complete(client, CHINESE, allergy="yes")
    shown = read(expect(client.get(patient_url(page, language=CHINESE)), 200))
    allergy = [chunk for chunk in shown.chunks if chunk.rule == "allergy"]
    title = [chunk for chunk in allergy if allergy_title_in_english_only in chunk.text]
    assert title, "the English title is not shown"
    assert {chunk.lang for chunk in title} == {ENGLISH}
    # The education page gives a rule's education text in place of its message.
    text = "education_text" if page == "education" else "message"
    message = english_rule("allergy")[translated_name(text, CHINESE)]
    assert [chunk.lang for chunk in allergy if message in chunk.text] == [CHINESE]  # inherits the page's
    assert shown.html_lang == CHINESE


def test_only_the_untranslated_text_is_marked_as_english(client: Client, allergy_title_in_english_only: str):
    # Rules of every level below urgent fire ("yes" to the warning signs would end the check before allergy).
    complete(client, CHINESE, **EVERY_LEVEL_BELOW_URGENT)
    shown = read(client.get("/zh-hans/check/result/"))
    assert {"allergy", "blood-count-signs"} <= {chunk.rule for chunk in shown.chunks}
    english = {chunk.text.strip() for chunk in shown.chunks if chunk.lang == ENGLISH and chunk.rule}
    # Besides the allergy title, only the cited documents, which are never translated, are English.
    sources = {source["document"] for source in default_document()["sources"]}
    assert english - sources == {allergy_title_in_english_only}


def test_an_english_page_marks_nothing_as_english(client: Client, allergy_title_in_english_only: str):
    complete(client, ENGLISH, allergy="yes")
    page = read(client.get("/check/result/"))
    assert allergy_title_in_english_only in page.text()
    # Only the switch, which names Chinese in Chinese, says what language it is in.
    assert [attrs["lang"] for tag, attrs in page.elements if tag != "html" and "lang" in attrs] == ["zh-Hans"]


def test_the_engine_names_the_text_that_fell_back_to_english(allergy_title_in_english_only: str):
    chinese = live.current_ruleset(language=CHINESE)
    allergy = next(rule for rule in chinese.rules if rule.id == "allergy")
    assert allergy.title == allergy_title_in_english_only
    assert allergy.untranslated == frozenset({"title"})
    assert all(not rule.untranslated for rule in chinese.rules if rule.id != "allergy")


# ---------------------------------------------------------------------------------------------
# 9. The clinician's translation work in the admin
# ---------------------------------------------------------------------------------------------

TRANSLATIONS_URL = "admin:screening_translations"


def translation_statuses(client: Client, *, show_all: bool = True) -> list[str]:
    response = expect(client.get(reverse(TRANSLATIONS_URL) + ("?show=all" if show_all else "")), 200)
    return read(response).with_attribute("data-status")


def non_empty_default_texts() -> int:
    return sum(
        1
        for _, field, item in content_texts(default_document())
        if item.get(field) or item.get(translated_name(field, CHINESE))
    )


def change_in_admin(client: Client, url: str, **changes: Any) -> HttpResponse:
    """Open a change form, change some fields as a clinician would, and save it with a reason."""
    data = admin_form_data(client.get(url))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return client.post(url, data)


def rule_url(identifier: str) -> str:
    return reverse("admin:screening_rule_change", args=[Rule.objects.get(identifier=identifier).pk])


def question_admin_url(identifier: str) -> str:
    return reverse("admin:screening_question_change", args=[Question.objects.get(identifier=identifier).pk])


def messages_of(response: HttpResponse) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_translations_page_lists_every_default_text_as_not_yet_checked(clinician_client, published_rules):
    expected = non_empty_default_texts()
    assert expected > 100
    assert translation_statuses(clinician_client) == ["unchecked"] * expected
    assert translation_statuses(clinician_client, show_all=False) == ["unchecked"] * expected


def test_a_translation_ticked_as_checked_shows_as_checked(clinician_client: Client, published_rules: RuleSet):
    response = change_in_admin(clinician_client, rule_url("allergy"), title_zh_hans_checked=True)
    assert response.status_code == 302
    assert Rule.objects.get(identifier="allergy").title_zh_hans_checked is True

    statuses = translation_statuses(clinician_client)
    assert statuses.count("checked") == 1
    assert statuses.count("unchecked") == non_empty_default_texts() - 1
    assert "checked" not in translation_statuses(clinician_client, show_all=False)
    page = clinician_client.get(reverse(TRANSLATIONS_URL) + "?show=all").content.decode()
    row = re.search(r'<tr[^>]*data-status="checked"[^>]*>(.*?)</tr>', page, re.S)
    assert row and english_rule("allergy")[translated_name("title", CHINESE)] in row.group(1)


def test_the_checked_flag_is_kept_when_nothing_else_changes(clinician_client: Client, published_rules: RuleSet):
    expect(change_in_admin(clinician_client, rule_url("allergy"), message_zh_hans_checked=True), 302)
    response = change_in_admin(clinician_client, rule_url("allergy"), rationale="Reviewed again.")
    assert response.status_code == 302
    assert Rule.objects.get(identifier="allergy").message_zh_hans_checked is True
    assert not any("not checked again" in message for message in messages_of(response))


@pytest.mark.parametrize("edited", ["message", "message_zh_hans"])
def test_editing_a_checked_text_clears_its_flag_and_says_so(
    clinician_client: Client, published_rules: RuleSet, edited: str
):
    expect(change_in_admin(clinician_client, rule_url("allergy"), message_zh_hans_checked=True), 302)
    new_text = "You told us about an allergy to this cream." if edited == "message" else "您告诉我们您对这种乳膏过敏。"
    response = change_in_admin(clinician_client, rule_url("allergy"), **{edited: new_text})
    assert response.status_code == 302
    rule = Rule.objects.get(identifier="allergy")
    assert getattr(rule, edited) == new_text
    assert rule.message_zh_hans_checked is False
    assert rule.title_zh_hans_checked is False  # untouched, and never checked
    said = [message for message in messages_of(response) if "Chinese translation" in message]
    if edited == "message":
        # The English changed and the Chinese did not: the translation is out of date, not just unchecked.
        assert len(said) == 1 and said[0].startswith(
            "allergy: the message changed and its Chinese translation did not, so the translation is out of date."
        ), said
    else:
        assert said == ["allergy: the message changed, so its Chinese translation is marked as not checked again."]
    assert translation_statuses(clinician_client).count("checked") == 0


def test_editing_an_option_label_clears_the_options_checked_flag(clinician_client, published_rules):
    url = question_admin_url("allergy")
    data = admin_form_data(clinician_client.get(url))
    labels = [key for key, value in data.items() if re.fullmatch(r"options-\d+-identifier", key) and value == "yes"]
    prefix = labels[0].removesuffix("identifier")
    expect(change_in_admin(clinician_client, url, **{f"{prefix}label_zh_hans_checked": True}), 302)
    option = Question.objects.get(identifier="allergy").options.get(identifier="yes")
    assert option.label_zh_hans_checked is True

    response = change_in_admin(clinician_client, url, **{f"{prefix}label": "Yes, I have"})
    assert response.status_code == 302
    option.refresh_from_db()
    assert option.label == "Yes, I have"
    assert option.label_zh_hans_checked is False
    assert any("allergy = yes: the label changed" in message for message in messages_of(response))


def test_resaving_a_section_from_a_browser_keeps_its_unchanged_body_checked(clinician_client, published_rules):
    document = drafts.draft_document()
    section = next(s for s in document["sections"] if s["id"] == "how_to_use")
    section[checked_name("body", CHINESE)] = True
    drafts.replace_draft(document, reason="Chinese body checked at the clinical meeting")
    pk = GuidanceSection.objects.get(identifier="how_to_use").pk
    url = reverse("admin:screening_guidancesection_change", args=[pk])
    data = admin_form_data(clinician_client.get(url))
    # What a browser sends for an unchanged textarea: its lines joined by CR LF.
    data["body"] = data["body"].replace("\n", "\r\n")
    data["body_zh_hans"] = data["body_zh_hans"].replace("\n", "\r\n")
    data["title_zh_hans_checked"] = "on"
    response = clinician_client.post(url, data)
    assert response.status_code == 302
    assert GuidanceSection.objects.get(pk=pk).body_zh_hans_checked is True
    assert not any("not checked again" in message for message in messages_of(response))


def add_english_only_help_text(client: Client) -> str:
    help_text = "Count any condition a doctor has told you about."
    response = change_in_admin(client, question_admin_url("health_conditions"), help_text=help_text)
    assert response.status_code == 302
    return help_text


def test_the_publish_page_lists_a_text_added_in_english_only(clinician_client: Client, published_rules: RuleSet):
    add_english_only_help_text(clinician_client)
    page = expect(clinician_client.get(reverse("admin:screening_publishedruleset_publish")), 200).content.decode()
    gaps = re.search(r'<div class="warningnote translation-gaps">(.*?)</div>', page, re.S)
    assert gaps, "no translation gaps shown"
    items = [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", gaps.group(1))]
    assert items == ["Question 'health_conditions': the help text has no Chinese version."]
    assert "1 text is in one language only." in html.unescape(gaps.group(1))
    unchecked = non_empty_default_texts()
    assert f"{unchecked} Chinese translations have not yet been checked" in page


def test_a_text_in_english_only_does_not_block_publishing(clinician_client: Client, published_rules: RuleSet):
    help_text = add_english_only_help_text(clinician_client)
    response = clinician_client.post(
        reverse("admin:screening_publishedruleset_publish"), {"note": "Help for the health question"}
    )
    assert response.status_code == 302
    assert PublishedRuleSet.objects.order_by("-version").first().version == published_rules.version + 1
    assert any("in one language only" in message for message in messages_of(response))

    # Chinese patients see the new help text, in English and marked as such.
    client = Client()
    answer(client, [*EARLY_STEPS, ("breastfeeding", "no"), ("weakened_immunity", "no")], language=CHINESE)
    answer(
        client,
        [("other_medicines", ["none"]), ("infection_now", "no"), ("infection_history", ["none"])],
        language=CHINESE,
    )
    page = read(expect(client.get(question_url("health_conditions", language=CHINESE)), 200))
    assert [chunk.lang for chunk in page.chunks if help_text in chunk.text] == [ENGLISH]


def test_the_message_after_publishing_one_gap_is_good_english(clinician_client: Client, published_rules: RuleSet):
    add_english_only_help_text(clinician_client)
    response = clinician_client.post(reverse("admin:screening_publishedruleset_publish"), {"note": "Help text"})
    assert any(message.startswith("1 text is in one language only") for message in messages_of(response))


def test_the_exported_draft_carries_every_chinese_text_and_flag(clinician_client: Client, published_rules):
    expect(change_in_admin(clinician_client, rule_url("allergy"), title_zh_hans_checked=True), 302)
    response = expect(clinician_client.get(reverse("admin:screening_publishedruleset_export")), 200)
    exported = json.loads(response.content)
    default = default_document()
    for (name, field, item), (_, _, default_item) in zip(content_texts(exported), content_texts(default), strict=True):
        assert item[translated_name(field, CHINESE)] == default_item[translated_name(field, CHINESE)], (name, field)
        expected_flag = name == "rule allergy" and field == "title"
        assert item[checked_name(field, CHINESE)] is expected_flag, (name, field)
    assert "芦可替尼" in response.content.decode()  # Chinese as it is, not escaped


@pytest.mark.slow
def test_importing_an_exported_draft_keeps_its_chinese_texts_and_flags(clinician_client: Client, published_rules):
    expect(change_in_admin(clinician_client, rule_url("allergy"), title_zh_hans_checked=True), 302)
    expect(change_in_admin(clinician_client, rule_url("pregnancy"), message_zh_hans="怀孕期间请不要使用。"), 302)
    exported = clinician_client.get(reverse("admin:screening_publishedruleset_export")).content
    drafts.replace_draft(default_document(), reason="Back to the defaults before the import")
    assert Rule.objects.get(identifier="allergy").title_zh_hans_checked is False

    upload = SimpleUploadedFile("rules.json", exported, content_type="application/json")
    response = clinician_client.post(
        reverse("admin:screening_publishedruleset_import"), {"document": upload, "reason": "Round trip"}
    )
    assert response.status_code == 302
    assert drafts.draft_document() == json.loads(exported)
    assert Rule.objects.get(identifier="allergy").title_zh_hans_checked is True
    assert Rule.objects.get(identifier="pregnancy").message_zh_hans == "怀孕期间请不要使用。"
