"""Two kinds of session for one site: staff sign-ins on the server, a patient's answers in their cookie.

Patients: the answers stay off the server, in the patient's own cookie, so any app server can continue
any visit. Django's signed cookies can be read by anyone who copies them (they are base64 JSON), and
a patient may use a shared computer, so this store encrypts the cookie with AES-128-GCM (a fresh
random nonce each time; the sealing time is authenticated with it) under a key derived from
SECRET_KEY; keys in SECRET_KEY_FALLBACKS still open cookies made before a rotation, and a cookie older
than SESSION_COOKIE_AGE is refused on reading, as with signed cookies. Cookies sealed with Fernet by
earlier versions still open, so a visit under way survives the upgrade.

Staff: /admin/ and /preview/ keep Django's own session (SESSION_ENGINE, server-side, under
SESSION_COOKIE_NAME), so signing out, or an administrator deactivating the account, ends it at once,
even for a copied cookie. Everything that expects sign-ins in Django's session (the test client's
login, `manage.py clearsessions`) works unchanged; the patient's store has settings of its own,
RUXGUIDE_PATIENT_SESSION_ENGINE and RUXGUIDE_PATIENT_SESSION_COOKIE_NAME.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.sessions.backends import signed_cookies
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date

from ruxguide import sealing
from ruxguide.headers import add_vary

# A purpose of its own, so this key is never the one Django signs anything else with.
KEY_SALT = b"ruxguide.sessions.patient-cookie"
KEY_INFO = b"Fernet key for the patient session cookie, v1"  # cookies sealed before AES-GCM
AEAD_KEY_INFO = b"AES-128-GCM key for the patient session cookie, v2"
# A sealed cookie: this version byte, when it was sealed (seconds, 8 bytes big-endian: where Fernet
# keeps it too), the nonce, then the ciphertext and its tag. The first two are authenticated.
AEAD_VERSION = b"\x91"
NONCE_BYTES = 12
HEADER_BYTES = 1 + 8
# As Fernet: a cookie stamped up to this far ahead (another server's clock) still opens.
CLOCK_SKEW_SECONDS = 60
# The data is padded to a multiple of this before it is sealed, so a cookie's length says little
# about which answers it holds. JSON ignores the trailing spaces.
PAD_TO = 64

# The first part of a path (after any language prefix) that makes it a staff page: see ruxguide/urls.py.
STAFF_SECTIONS = frozenset({"admin", "preview"})


def _fernet_keys() -> MultiFernet:
    """The keys cookies were sealed with before AES-GCM: they still open (read only)."""
    return sealing.keys(KEY_SALT, KEY_INFO)


def seal(data: bytes) -> str:
    """`data`, padded, encrypted and authenticated with the current key, as cookie-safe text.

    AES-GCM in one call each way: Fernet's CBC-then-HMAC took a tenth of a question step to open and seal.
    """
    padded = data + b" " * (-len(data) % PAD_TO)
    header = AEAD_VERSION + int(time.time()).to_bytes(8, "big")
    nonce = os.urandom(NONCE_BYTES)
    sealed = sealing.aead_keys(KEY_SALT, AEAD_KEY_INFO)[0].encrypt(nonce, padded, header)
    # base64 with its "=" padding left off: a cookie would have to quote it.
    return base64.urlsafe_b64encode(header + nonce + sealed).decode("ascii").rstrip("=")


def unseal(token: str, *, max_age: int) -> bytes:
    """The data sealed in `token`, if one of our keys sealed it less than `max_age` seconds ago.

    Raises InvalidToken for anything else: a tampered, foreign, expired or garbled cookie.
    """
    if not token.isascii():
        raise InvalidToken
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise InvalidToken from None
    if raw[:1] != AEAD_VERSION:
        return _fernet_keys().decrypt(padded, ttl=max_age)  # sealed by an earlier version
    if len(raw) < HEADER_BYTES + NONCE_BYTES + 16:
        raise InvalidToken
    header, nonce, sealed = (
        raw[:HEADER_BYTES],
        raw[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES],
        raw[HEADER_BYTES + NONCE_BYTES :],
    )
    for key in sealing.aead_keys(KEY_SALT, AEAD_KEY_INFO):
        try:
            data = key.decrypt(nonce, sealed, header)
        except InvalidTag:
            continue
        age = time.time() - int.from_bytes(header[1:], "big")
        if age > max_age or age < -CLOCK_SKEW_SECONDS:
            raise InvalidToken
        return data
    raise InvalidToken


def sealed_at(token: str) -> int:
    """When a token that `unseal` opens was sealed (both formats keep it, in seconds, after their version byte)."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return int.from_bytes(raw[1:9], "big")


class SessionStore(signed_cookies.SessionStore):
    """The patient's session, sealed into the cookie itself: nothing is kept on the server."""

    def load(self) -> dict[str, Any]:
        """The sealed data, or a fresh empty session when the cookie cannot be opened."""
        if self.session_key:
            try:
                data = self.serializer().loads(unseal(self.session_key, max_age=self.get_session_cookie_age()))
            except (InvalidToken, ValueError, TypeError):  # ValueError: bad JSON, or not text
                pass
            else:
                if isinstance(data, dict):
                    return data
        self.create()
        return {}

    def needs_resealing(self) -> bool:
        """Whether an unchanged session should be sealed again, to move its expiry on.

        The expiry slides with the patient's activity (SESSION_SAVE_EVERY_REQUEST), but sealing
        costs a fresh encryption on every page: an unchanged cookie sealed less than
        RUXGUIDE_SESSION_RESEAL_SECONDS ago is sent on as it is, so a visit ends at most that much
        earlier than SESSION_COOKIE_AGE after its last page.
        """
        try:
            # Read without opening the cookie: a page that never reads the session need not decrypt it.
            # A forged time only spares a forged cookie the sealing; opening it still fails.
            sealed = sealed_at(self.session_key or "")
        except ValueError:  # not base64 (binascii.Error is a ValueError)
            return True
        return time.time() - sealed >= settings.RUXGUIDE_SESSION_RESEAL_SECONDS

    def _get_session_key(self) -> str:
        return seal(self.serializer().dumps(dict(self.items())))


def patient_store() -> type[SessionBase]:
    store: type[SessionBase] = import_module(settings.RUXGUIDE_PATIENT_SESSION_ENGINE).SessionStore
    return store


def is_staff_path(path: str) -> bool:
    """A staff page: the admin, or the preview of the draft (in any language)."""
    first, _, rest = path.lstrip("/").partition("/")
    if first in dict(settings.LANGUAGES):
        first = rest.partition("/")[0]
    return first in STAFF_SECTIONS


class TwoSessionsMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, with one store and cookie for staff pages and another for patients.

    Staff pages use SESSION_ENGINE under SESSION_COOKIE_NAME, as Django would; every other page uses
    RUXGUIDE_PATIENT_SESSION_ENGINE (the encrypted cookie) under RUXGUIDE_PATIENT_SESSION_COOKIE_NAME.
    Neither store reads the other's cookie; both cookies share the other SESSION_COOKIE_* settings.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self.PatientStore = patient_store()

    def process_request(self, request: HttpRequest) -> None:
        if is_staff_path(request.path_info):
            request.session = self.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        else:
            request.session = self.PatientStore(request.COOKIES.get(settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME))

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Django's own process_response (Django 6.1), with the cookie named after the request's store."""
        try:
            session = request.session
            accessed = session.accessed
            modified = session.modified
            empty = session.is_empty()
        except AttributeError:
            return response
        name = (
            settings.RUXGUIDE_PATIENT_SESSION_COOKIE_NAME
            if isinstance(session, self.PatientStore)
            else settings.SESSION_COOKIE_NAME
        )
        # The cookie goes only when the session has been emptied (signed out, or answers cleared).
        if name in request.COOKIES and empty:
            response.delete_cookie(
                name,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
            need_vary_cookie = True
        else:
            # A page that read the session depends on the cookie, whether or not it is saved.
            need_vary_cookie = accessed
            # (A changed session is sealed anyway: whether its cookie is due again is not asked.)
            sliding = (
                not modified
                and settings.SESSION_SAVE_EVERY_REQUEST
                and (not isinstance(session, SessionStore) or session.needs_resealing())
            )
            if (modified or sliding) and not empty:
                if session.get_expire_at_browser_close():
                    max_age = None
                    expires = None
                else:
                    max_age = session.get_expiry_age()
                    expires = http_date(time.time() + max_age)
                # No save for a server error: the request may not have finished its changes.
                if response.status_code < 500:
                    try:
                        session.save()
                    except UpdateError:
                        raise SessionInterrupted(
                            "The request's session was deleted before the request completed. The user "
                            "may have logged out in a concurrent request, for example."
                        ) from None
                    response.set_cookie(
                        name,
                        session.session_key or "",
                        max_age=max_age,
                        expires=expires,
                        domain=settings.SESSION_COOKIE_DOMAIN,
                        path=settings.SESSION_COOKIE_PATH,
                        secure=settings.SESSION_COOKIE_SECURE,
                        httponly=settings.SESSION_COOKIE_HTTPONLY,
                        samesite=settings.SESSION_COOKIE_SAMESITE,
                    )
                    need_vary_cookie = True
        if need_vary_cookie:
            add_vary(response, ("Cookie",))
        return response
