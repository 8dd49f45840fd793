"""Django's CSRF tokens, masked and unmasked by table, and its middleware with that unmasking.

Django unmasks a form's 64-character token with two `str.index` calls per character, half of the
CSRF check and a twentieth of a question step. This subclass accepts a posted form token the way
Django would, reading the unmasking from a table, and leaves everything else (and every refusal, with
Django's reasons) to Django's own check.

Django's deployment checks look for its middleware by name (security.W003, W016): they are silenced in
the settings, and the two checks below ask the same of any CsrfViewMiddleware in MIDDLEWARE instead.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks
from django.http import HttpRequest
from django.middleware import csrf
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string

_CHARS = csrf.CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
# The alphabet rotated by each shift: _ROTATED[shift][index] is _CHARS[(index + shift) % 62], and
# _ROTATED[-shift] (Python's negative index) rotates back the other way.
_ROTATED = [_CHARS[shift:] + _CHARS[:shift] for shift in range(len(_CHARS))]
# Random bytes at or above this would favour the first characters (256 is not a multiple of 62): skipped.
_UNBIASED_BELOW = 256 - 256 % len(_CHARS)


def new_secret() -> str:
    """A fresh CSRF secret, as Django's middleware makes one for a visitor without the cookie."""
    return "".join(map(_CHARS.__getitem__, _random_indexes(csrf.CSRF_SECRET_LENGTH)))


def mask(secret: str) -> str:
    """A token for `secret` under a fresh random mask (Django's `_mask_cipher_secret`).

    Django draws each of the mask's characters with its own call to `secrets.choice`; this reads the
    system's randomness once, and shifts each secret character by reading the rotated alphabet.
    """
    shifts = _random_indexes(csrf.CSRF_SECRET_LENGTH)
    cipher = "".join([_ROTATED[shift][_INDEX[char]] for char, shift in zip(secret, shifts, strict=True)])
    return "".join(map(_CHARS.__getitem__, shifts)) + cipher


def unmask(token: str) -> str | None:
    """The secret in a masked token (Django's `_unmask_cipher_token`), or None if it is not one.

    A masked token is 64 of CSRF_ALLOWED_CHARS: a mask, then the secret shifted along the alphabet by it.
    """
    if len(token) != csrf.CSRF_TOKEN_LENGTH:
        return None
    shifts, cipher = token[: csrf.CSRF_SECRET_LENGTH], token[csrf.CSRF_SECRET_LENGTH :]
    try:
        return "".join([_ROTATED[-_INDEX[shift]][_INDEX[char]] for char, shift in zip(cipher, shifts, strict=True)])
    except KeyError:  # a character outside the alphabet: not a token
        return None


def _random_indexes(count: int) -> list[int]:
    """`count` uniformly random positions in CSRF_ALLOWED_CHARS, from the system's randomness."""
    indexes: list[int] = []
    while len(indexes) < count:
        indexes += [byte % len(_CHARS) for byte in os.urandom(count + 8) if byte < _UNBIASED_BELOW]
    return indexes[:count]


class CsrfViewMiddleware(csrf.CsrfViewMiddleware):
    """Accept a form whose posted token unmasks to the CSRF cookie's secret; anything else goes to Django."""

    def _check_token(self, request: HttpRequest) -> None:
        if request.method == "POST" and self._form_token_matches(request):
            return
        super()._check_token(request)  # type: ignore[misc]  # not in django-stubs; raises RejectRequest

    def _form_token_matches(self, request: HttpRequest) -> bool:
        try:
            secret = self._get_secret(request)  # type: ignore[attr-defined]  # not in django-stubs
            posted = request.POST.get("csrfmiddlewaretoken", "")
        except (csrf.InvalidTokenFormat, OSError):  # a bad cookie, an unreadable body: Django says why
            return False
        if not isinstance(secret, str) or not isinstance(posted, str):
            return False
        unmasked = unmask(posted)
        return unmasked is not None and constant_time_compare(unmasked, secret)


def _csrf_middleware_in_use() -> bool:
    """Whether MIDDLEWARE holds Django's CSRF middleware or a subclass of it (this one)."""
    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if isinstance(middleware, type) and issubclass(middleware, csrf.CsrfViewMiddleware):
            return True
    return False


@checks.register(checks.Tags.security, deploy=True)
def check_csrf_middleware(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """security.W003, for Django's CSRF middleware or a subclass."""
    if _csrf_middleware_in_use():
        return []
    return [
        checks.Warning("No CSRF middleware is in MIDDLEWARE: forms can be posted from any site.", id="ruxguide.W003")
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_csrf_cookie_secure(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """security.W016, for Django's CSRF middleware or a subclass."""
    if settings.CSRF_USE_SESSIONS or settings.CSRF_COOKIE_SECURE is True or not _csrf_middleware_in_use():
        return []
    return [
        checks.Warning(
            "CSRF_COOKIE_SECURE is not True: the CSRF cookie can travel over plain HTTP.", id="ruxguide.W016"
        )
    ]
