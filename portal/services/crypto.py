"""Encryption at rest for the secrets the portal must show or use again (integration keys, certificates).

Fernet (AES-128-CBC with HMAC-SHA256) under a key derived with HKDF-SHA256 from the app's SECRET_KEY, so a
copy of the database alone reveals nothing. Keys derived from SECRET_KEY_FALLBACKS still decrypt, which
lets an operator rotate SECRET_KEY without losing what was stored under the old one.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Changing the context would make every stored secret unreadable: it names the purpose, not a version.
_CONTEXT = b"vitrine/encryption-at-rest"
_SALT = b"vitrine-hkdf-salt"


class DecryptionError(ValueError):
    """A stored secret could not be decrypted: it was altered, or the secret keys changed."""


def _derive(secret: str) -> Fernet:
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_CONTEXT).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(material))


@lru_cache(maxsize=8)
def _fernet(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_derive(secret) for secret in secrets])


def _current() -> MultiFernet:
    config = current_app.config
    secret = config["SECRET_KEY"]
    if not secret:
        raise RuntimeError("SECRET_KEY is empty: nothing can be encrypted")
    fallbacks = tuple(key for key in config.get("SECRET_KEY_FALLBACKS") or () if key)
    return _fernet((secret, *fallbacks))


def encrypt(text: str) -> str:
    """`text` encrypted and authenticated, as URL-safe ASCII to keep in a text column."""
    return _current().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The text that `encrypt` was given; DecryptionError if the token was altered or the keys changed."""
    try:
        return _current().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise DecryptionError("the stored secret cannot be decrypted with the current secret keys") from error
