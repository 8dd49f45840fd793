"""Keys for what the app seals (the patient's cookie with AES-GCM, a hand-off code with Fernet): one per purpose.

Each purpose derives its own key from SECRET_KEY with HKDF and a salt of its own, so a key is never
the one Django signs anything else with, and one purpose's token never opens as another's. Tokens
are sealed with SECRET_KEY and still open with any key in SECRET_KEY_FALLBACKS, so a key rotation
does not end every visit or code at once.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def keys(salt: bytes, info: bytes) -> MultiFernet:
    """Seal with SECRET_KEY's key for this purpose; open with it or with any fallback's."""
    return MultiFernet(
        [_fernet(secret, salt, info) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]
    )


def aead_keys(salt: bytes, info: bytes) -> list[AESGCM]:
    """This purpose's AES-128-GCM keys: SECRET_KEY's first (to seal with), then each fallback's."""
    return [_aesgcm(secret, salt, info) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


@functools.lru_cache(maxsize=32)
def _fernet(secret: str, salt: bytes, info: bytes) -> Fernet:
    """The Fernet key for one secret and purpose: HKDF-SHA256 with the purpose's salt and info."""
    return Fernet(base64.urlsafe_b64encode(_derive(secret, salt, info, 32)))


@functools.lru_cache(maxsize=32)
def _aesgcm(secret: str, salt: bytes, info: bytes) -> AESGCM:
    return AESGCM(_derive(secret, salt, info, 16))


def _derive(secret: str, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 of the secret with the purpose's salt and info: the key bytes for one secret and purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret.encode())
