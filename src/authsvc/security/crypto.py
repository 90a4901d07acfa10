"""Encryption at rest for small secrets (TOTP seeds, session payloads).

AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce, under keys derived from the configured
key material with HKDF-SHA256 (RFC 5869). The purpose label goes into both the HKDF `info` and
the GCM associated data, so a value encrypted for one purpose never decrypts for another.

Key rotation takes a list of key materials, newest first: the first encrypts, every one decrypts.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["DecryptionError", "Encryptor", "derive_key"]

_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class DecryptionError(Exception):
    """The ciphertext was tampered with, is malformed, or was made under no key we hold."""


def derive_key(material: bytes, purpose: str, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869) of `material`, bound to `purpose`: one independent key per use."""
    if not material:
        raise ValueError("key material must not be empty")
    if not purpose:
        raise ValueError("a purpose label is required")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=f"authsvc/{purpose}".encode(),
    )
    return hkdf.derive(material)


class DataKeys(Protocol):
    """Where the key materials come from (authsvc.config.Settings), newest first."""

    @property
    def data_keys(self) -> Sequence[bytes]: ...


class Encryptor:
    """Encrypts bytes to URL-safe base64 text (for a DB column) and back.

    `Encryptor([new_material, old_material], purpose="totp")`: the first key encrypts, all decrypt.
    The token is `base64url(version || nonce || ciphertext || tag)`.
    """

    def __init__(self, keys: bytes | Sequence[bytes], *, purpose: str) -> None:
        materials = [keys] if isinstance(keys, bytes | bytearray) else list(keys)
        if not materials:
            raise ValueError("at least one key is required")
        self.purpose = purpose
        self._aad = purpose.encode()
        self._ciphers = [AESGCM(derive_key(bytes(m), purpose)) for m in materials]

    @classmethod
    def from_settings(cls, settings: DataKeys, purpose: str) -> Encryptor:
        """The encryptor for `purpose`: AUTHSVC_ENCRYPTION_KEY encrypts, it and
        AUTHSVC_ENCRYPTION_PREVIOUS_KEYS decrypt (never the JWT key)."""
        return cls(settings.data_keys, purpose=purpose)

    def encrypt(self, plaintext: bytes) -> str:
        # A random 96-bit nonce: collisions stay negligible far beyond our write volume per key.
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[0].encrypt(nonce, plaintext, self._aad)
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        """The plaintext, or `DecryptionError` on tampering, a wrong key or a wrong purpose."""
        try:
            blob = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, AttributeError):
            raise DecryptionError("malformed ciphertext") from None
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES or blob[:1] != _VERSION:
            raise DecryptionError("malformed ciphertext")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, self._aad)
            except InvalidTag:
                continue
        raise DecryptionError("ciphertext does not authenticate under any key")
