"""The hand-off code: a patient's counted answers, sealed for their clinician, and what it opens to.

The code is the whole record: nothing is stored on the server. It holds the published version the
patient used, their language and, for each of that version's questions in order, which options they
chose, as a bit mask (a version is an immutable snapshot, so its questions and options keep their
order for ever). That is about 20 bytes, sealed with Fernet (AES-CBC with an HMAC-SHA256 tag and the
time it was made) under a key derived from SECRET_KEY for this purpose alone, as the patient's session
cookie is (ruxguide/sessions.py); keys in SECRET_KEY_FALLBACKS still open codes made before a
rotation. Without the key a code reveals nothing, and a changed byte makes it refused. A short code
keeps the QR code small, so a phone camera reads it from paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ruxguide import sealing
from screening.engine import Answers, RuleSet, ruleset_from_document, walk
from screening.fhir import FHIR_LANGUAGE, answer_system, questionnaire_url
from screening.models import PublishedRuleSet
from screening.translations import ENGLISH

# A purpose of its own: this key is never the session cookie's, nor the one Django signs anything with.
KEY_SALT = b"ruxguide.handoff.code"
KEY_INFO = b"Fernet key for the clinician hand-off code, v1"
# The first byte of what is sealed: a later layout gets a new number, so old codes are still read right.
FORMAT = 1
# The languages a code can name, by position: new languages go at the end, so old codes keep theirs.
LANGUAGES = (ENGLISH, "zh-hans")
# A code made up to this long "in the future" (clocks of two app servers) is still taken.
CLOCK_SKEW = timedelta(minutes=2)
SDC_RESPONSE_PROFILE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaireresponse"


class CodeRefused(Exception):
    """A code that does not open: the message says why, in words for the clinician."""


class CodeExpired(CodeRefused):
    """A genuine code, older than RUXGUIDE_HANDOFF_DAYS."""


class CodeInvalid(CodeRefused):
    """Not a code this server made: changed, cut short, garbled, or sealed with another key."""


class CodeVersionMissing(CodeRefused):
    """A genuine code naming a version this server does not hold (a rebuilt database)."""


@dataclass(frozen=True)
class Handoff:
    """What a code holds."""

    version: int
    language: str
    answers: dict[str, tuple[str, ...]]
    made_at: datetime

    @property
    def expires_at(self) -> datetime:
        return expires_at(self.made_at)


def lifetime() -> timedelta:
    return timedelta(days=settings.RUXGUIDE_HANDOFF_DAYS)


def expires_at(made_at: datetime) -> datetime:
    """When a code made at `made_at` stops working."""
    return made_at + lifetime()


def _keys() -> MultiFernet:
    """This purpose's keys: seal with SECRET_KEY, open with it or any of SECRET_KEY_FALLBACKS."""
    return sealing.keys(KEY_SALT, KEY_INFO)


# ---------------------------------------------------------------------------------------------
# Making and opening a code
# ---------------------------------------------------------------------------------------------


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _mask_size(option_count: int) -> int:
    return (option_count + 7) // 8


def pack(ruleset: RuleSet, answers: Answers, *, language: str) -> bytes:
    """The answers as bytes: format, version, language, then each question's chosen options as bits."""
    data = bytearray([FORMAT])
    data += _varint(ruleset.version)
    data.append(LANGUAGES.index(language) if language in LANGUAGES else 0)
    for question in ruleset.questions:
        chosen = answers.get(question.id, ())
        mask = sum(1 << number for number, option_id in enumerate(question.option_ids) if option_id in chosen)
        data += mask.to_bytes(_mask_size(len(question.options)), "little")
    return bytes(data)


def _unpack_header(data: bytes) -> tuple[int, str, int]:
    """The version, the language and where the answers start."""
    if len(data) < 3 or data[0] != FORMAT:
        raise CodeInvalid("This code was not made by this service.")
    version, shift, position = 0, 0, 1
    while True:
        if position >= len(data) or shift > 28:
            raise CodeInvalid("This code was not made by this service.")
        byte = data[position]
        position += 1
        version |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if position >= len(data) or data[position] >= len(LANGUAGES):
        raise CodeInvalid("This code was not made by this service.")
    return version, LANGUAGES[data[position]], position + 1


def _unpack_answers(ruleset: RuleSet, data: bytes, start: int) -> dict[str, tuple[str, ...]]:
    answers: dict[str, tuple[str, ...]] = {}
    position = start
    for question in ruleset.questions:
        size = _mask_size(len(question.options))
        if position + size > len(data):
            raise CodeInvalid("This code does not fit the version it names.")
        mask = int.from_bytes(data[position : position + size], "little")
        position += size
        if mask >> len(question.options):
            raise CodeInvalid("This code does not fit the version it names.")
        chosen = tuple(option_id for number, option_id in enumerate(question.option_ids) if mask >> number & 1)
        if chosen:
            answers[question.id] = chosen
    if position != len(data):
        raise CodeInvalid("This code does not fit the version it names.")
    return answers


def make_code(ruleset: RuleSet, answers: Answers, *, language: str, now: datetime | None = None) -> str:
    """A code for these counted answers to this published version, made `now`.

    URL-safe base64 without its "=" padding, so it goes in an address as it is.
    """
    made = now or datetime.now(UTC)
    token = _keys().encrypt_at_time(pack(ruleset, answers, language=language), int(made.timestamp()))
    return token.decode("ascii").rstrip("=")


def _token(code: str) -> bytes:
    if not code or not code.isascii() or len(code) > 1000:
        raise CodeInvalid("This code was not made by this service.")
    return (code + "=" * (-len(code) % 4)).encode("ascii")


def open_code(code: str, *, now: datetime | None = None) -> Handoff:
    """What a code holds, if this server made it less than RUXGUIDE_HANDOFF_DAYS ago.

    Raises CodeExpired, CodeInvalid (changed, foreign, garbled) or CodeVersionMissing.
    """
    data, made_at = _unsealed(code, now=now)
    version, language, start = _unpack_header(data)
    ruleset = published_ruleset(version)
    return Handoff(version=version, language=language, answers=_unpack_answers(ruleset, data, start), made_at=made_at)


def matching(code: str, ruleset: RuleSet, answers: Answers, *, now: datetime | None = None) -> datetime | None:
    """When `code` was made, if it is ours, still works and holds exactly these answers to this version.

    Needs no database: the answers are compared as packed, whatever language the code names.
    """
    try:
        data, made_at = _unsealed(code, now=now)
        _, _, start = _unpack_header(data)
    except (CodeRefused, ValueError):
        return None
    expected = pack(ruleset, answers, language=ENGLISH)
    _, _, expected_start = _unpack_header(expected)
    same_version = data[1 : start - 1] == expected[1 : expected_start - 1]
    return made_at if same_version and data[start:] == expected[expected_start:] else None


def _unsealed(code: str, *, now: datetime | None) -> tuple[bytes, datetime]:
    """The packed data a code seals and when it was made; CodeInvalid or CodeExpired when it does not open."""
    token = _token(code)
    keys = _keys()
    try:
        # Checks the tag first; the age is checked below, so an old code says "expired", not "invalid".
        data = keys.decrypt(token)
        made_at = datetime.fromtimestamp(keys.extract_timestamp(token), UTC)
    except (InvalidToken, ValueError, TypeError, OverflowError):
        raise CodeInvalid("This code was not made by this service, or it was changed.") from None
    moment = now or datetime.now(UTC)
    if made_at > moment + CLOCK_SKEW:
        raise CodeInvalid("This code was not made by this service, or it was changed.")
    if moment - made_at > lifetime():
        raise CodeExpired(
            f"This code has expired: codes work for {settings.RUXGUIDE_HANDOFF_DAYS} days. "
            "Ask the patient to make a new one."
        )
    return data, made_at


def published_ruleset(version: int, language: str = ENGLISH) -> RuleSet:
    """One published version as the engine reads it (the clinician's view is rare: not cached)."""
    snapshot = PublishedRuleSet.objects.filter(version=version).first()
    if snapshot is None:
        raise CodeVersionMissing(
            f"This code was made with version {version} of the check, which this service does not hold."
        )
    return ruleset_from_document(
        snapshot.document, version=snapshot.version, published_at=snapshot.published_at.isoformat(), language=language
    )


# ---------------------------------------------------------------------------------------------
# The QR code
# ---------------------------------------------------------------------------------------------


def qr(address: str) -> segno.QRCode:
    """The QR code of an address: error correction M at least (a crease or a smudge on paper), raised
    for free when the version has room."""
    return segno.make(address, error="m", micro=False, boost_error=True)


def qr_svg(address: str, *, title: str, scale: int = 4) -> SafeString:
    """The QR code as inline SVG, `scale` CSS pixels a module: no style attribute or element (the CSP
    forbids inline styles), with a name read out by screen readers."""
    svg = qr(address).svg_inline(
        scale=scale,
        border=4,
        title=title,
        svgclass="handoff-qr",
        lineclass=None,
        dark="#000",
        light="#fff",
    )
    # segno puts no role on the <svg>; an image with a name is what a screen reader should announce.
    # Crisp edges: no anti-aliased seams between modules when the page scales the code.
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" shape-rendering="crispEdges" ', 1)
    return mark_safe(svg)  # segno's own SVG; the title is escaped by segno and above


# ---------------------------------------------------------------------------------------------
# The QuestionnaireResponse
# ---------------------------------------------------------------------------------------------


def questionnaire_response(
    ruleset: RuleSet, answers: Answers, *, authored: datetime | None = None, language: str | None = None
) -> dict[str, Any]:
    """The counted answers as a FHIR R4 QuestionnaireResponse to the Questionnaire `url|version`.

    One item per counted answer, in question order, flat (the Questionnaire has no groups); each
    chosen option is a valueCoding in its question's own code system, with the option's identifier as
    its code. Texts are in the rule set's language, which `language` states (the rule set's by default).
    """
    moment = authored or datetime.now(UTC)
    where = walk(ruleset, answers)
    items: list[dict[str, Any]] = []
    for question in where.shown:
        chosen = where.counted.get(question.id)
        if not chosen:
            continue
        codings = []
        for option_id in chosen:
            option = question.option(option_id)
            label = option.label if option is not None else option_id
            codings.append({"valueCoding": {"system": answer_system(question.id), "code": option_id, "display": label}})
        items.append({"linkId": question.id, "text": question.text, "answer": codings})
    tag = language or ruleset.language
    return {
        "resourceType": "QuestionnaireResponse",
        "meta": {"profile": [SDC_RESPONSE_PROFILE]},
        "language": FHIR_LANGUAGE.get(tag, tag),
        "questionnaire": f"{questionnaire_url()}|{ruleset.version}",
        "status": "completed",
        "authored": moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "item": items,
    }


def answers_from_response(response: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each linkId's chosen codes in a QuestionnaireResponse, nested items (in `item` or an answer's
    `item`) included. Raises ValueError for a shape that is not a response."""
    found: dict[str, list[str]] = {}

    def read(items: object) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise ValueError("'item' must be a list")
        for item in items:
            if not isinstance(item, dict):
                raise ValueError("each item must be an object")
            link_id = item.get("linkId")
            if not isinstance(link_id, str) or not link_id:
                raise ValueError("each item needs a linkId")
            answers = item.get("answer", [])
            if not isinstance(answers, list):
                raise ValueError(f"the answers of {link_id!r} must be a list")
            for answer in answers:
                if not isinstance(answer, dict):
                    raise ValueError(f"each answer of {link_id!r} must be an object")
                coding = answer.get("valueCoding")
                if coding is not None:
                    code = coding.get("code") if isinstance(coding, dict) else None
                    if not isinstance(code, str):
                        raise ValueError(f"an answer of {link_id!r} has a valueCoding without a code")
                    found.setdefault(link_id, []).append(code)
                read(answer.get("item"))
            read(item.get("item"))

    read(response.get("item"))
    return found
