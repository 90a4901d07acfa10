"""Encryption at rest: AES-GCM under HKDF-derived keys, with rotation and purpose separation."""

import base64
import secrets

import pytest

from authsvc.config import Settings
from authsvc.security.crypto import DecryptionError, Encryptor, derive_key

OLD = b"old-key-material-" + b"o" * 32
NEW = b"new-key-material-" + b"n" * 32
SECRET = b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_round_trip() -> None:
    box = Encryptor([NEW], purpose="totp")
    token = box.encrypt(SECRET)
    assert box.decrypt(token) == SECRET
    assert SECRET.decode() not in token


def test_round_trip_of_empty_plaintext() -> None:
    box = Encryptor([NEW], purpose="totp")
    assert box.decrypt(box.encrypt(b"")) == b""


def test_ciphertext_is_urlsafe_text_and_randomized() -> None:
    box = Encryptor(NEW, purpose="totp")
    first, second = box.encrypt(SECRET), box.encrypt(SECRET)
    assert first != second
    assert set(first) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_tampering_is_detected() -> None:
    box = Encryptor([NEW], purpose="totp")
    blob = bytearray(base64.urlsafe_b64decode(box.encrypt(SECRET)))
    for index in (0, 5, 20, len(blob) - 1):  # version, nonce, ciphertext, tag
        altered = blob.copy()
        altered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            box.decrypt(base64.urlsafe_b64encode(bytes(altered)).decode())


@pytest.mark.parametrize("garbage", ["", "not base64!", "AAAA", "é", "A" * 80])
def test_malformed_input_is_a_decryption_error(garbage: str) -> None:
    with pytest.raises(DecryptionError):
        Encryptor([NEW], purpose="totp").decrypt(garbage)


def test_wrong_key_is_refused() -> None:
    token = Encryptor([OLD], purpose="totp").encrypt(SECRET)
    with pytest.raises(DecryptionError):
        Encryptor([NEW], purpose="totp").decrypt(token)


def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    old_token = Encryptor([OLD], purpose="totp").encrypt(SECRET)
    rotated = Encryptor([NEW, OLD], purpose="totp")
    assert rotated.decrypt(old_token) == SECRET
    new_token = rotated.encrypt(SECRET)
    assert Encryptor([NEW], purpose="totp").decrypt(new_token) == SECRET
    with pytest.raises(DecryptionError):
        Encryptor([OLD], purpose="totp").decrypt(new_token)


def test_purpose_separation() -> None:
    token = Encryptor([NEW], purpose="totp").encrypt(SECRET)
    with pytest.raises(DecryptionError):
        Encryptor([NEW], purpose="session").decrypt(token)


def test_derived_keys_differ_by_purpose_and_material() -> None:
    assert derive_key(NEW, "totp") != derive_key(NEW, "session")
    assert derive_key(NEW, "totp") != derive_key(OLD, "totp")
    assert len(derive_key(NEW, "totp")) == 32


def test_no_keys_is_an_error() -> None:
    with pytest.raises(ValueError):
        Encryptor([], purpose="totp")
    with pytest.raises(ValueError):
        Encryptor([b""], purpose="totp")
    with pytest.raises(ValueError):
        Encryptor([NEW], purpose="")


def test_from_settings_uses_the_data_key(tmp_path) -> None:
    key = secrets.token_urlsafe(48)
    settings = Settings(env="testing", data_dir=tmp_path, encryption_key=key)
    settings.prepare_local_keys()  # the JWT key below is a local one
    box = Encryptor.from_settings(settings, "totp")
    assert box.decrypt(box.encrypt(SECRET)) == SECRET
    assert Encryptor([key.encode()], purpose="totp").decrypt(box.encrypt(SECRET)) == SECRET
    with pytest.raises(DecryptionError):
        Encryptor([settings.jwt_key], purpose="totp").decrypt(box.encrypt(SECRET))
