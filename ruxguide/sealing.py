"""Keys for what the app seals with Fernet (the patient's cookie, a hand-off code): one per purpose.

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
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def keys(salt: bytes, info: bytes) -> MultiFernet:
    """Seal with SECRET_KEY's key for this purpose; open with it or with any fallback's."""
    return MultiFernet(
        [_fernet(secret, salt, info) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]
    )


@functools.lru_cache(maxsize=32)
def _fernet(secret: str, salt: bytes, info: bytes) -> Fernet:
    """The Fernet key for one secret and purpose: HKDF-SHA256 with the purpose's salt and info."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))
