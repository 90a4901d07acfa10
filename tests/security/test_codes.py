"""Recovery codes, numeric codes and link tokens."""

import hashlib
import math
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authsvc.security import codes

RECOVERY_FORMAT = re.compile(r"^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$")


def test_recovery_codes_have_the_readable_format() -> None:
    for code in codes.new_recovery_codes(50):
        assert RECOVERY_FORMAT.match(code)
        assert set(code.replace("-", "")) <= set(codes.RECOVERY_ALPHABET)


def test_recovery_codes_are_unique() -> None:
    batch = codes.new_recovery_codes(1000)
    assert len(batch) == 1000
    assert len(set(batch)) == 1000


def test_recovery_codes_carry_at_least_50_bits() -> None:
    alphabet = set(codes.RECOVERY_ALPHABET)
    assert len(alphabet) == len(codes.RECOVERY_ALPHABET) == 32
    length = len(codes.normalize_recovery_code(codes.new_recovery_codes(1)[0]))
    assert math.log2(len(alphabet) ** length) >= 50


def test_recovery_alphabet_has_no_ambiguous_characters() -> None:
    assert not set("ilou") & set(codes.RECOVERY_ALPHABET)


def test_normalize_strips_lowers_and_removes_separators() -> None:
    assert codes.normalize_recovery_code("  7K3M-Q9XD 2hvw\n") == "7k3mq9xd2hvw"


@given(st.text())
def test_normalize_is_idempotent(raw: str) -> None:
    once = codes.normalize_recovery_code(raw)
    assert codes.normalize_recovery_code(once) == once


@given(st.text(alphabet=codes.RECOVERY_ALPHABET + "-  " + string.ascii_uppercase))
def test_normalized_codes_have_no_separators_or_upper_case(raw: str) -> None:
    normalized = codes.normalize_recovery_code(raw)
    assert "-" not in normalized and " " not in normalized
    assert normalized == normalized.lower()


def test_hash_code_is_stable_and_hex() -> None:
    key = b"k" * 32
    digest = codes.hash_code("7k3m-q9xd-2hvw", key=key)
    assert digest == codes.hash_code("7k3m-q9xd-2hvw", key=key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_hash_code_depends_on_the_key() -> None:
    code = "7k3m-q9xd-2hvw"
    assert codes.hash_code(code, key=b"a" * 32) != codes.hash_code(code, key=b"b" * 32)


def test_hash_code_depends_on_the_code() -> None:
    key = b"k" * 32
    assert codes.hash_code("7k3m-q9xd-2hvw", key=key) != codes.hash_code("7k3m-q9xd-2hvx", key=key)


def test_hash_code_hashes_the_normalized_form() -> None:
    key = b"k" * 32
    assert codes.hash_code(" 7K3M Q9XD-2HVW ", key=key) == codes.hash_code("7k3mq9xd2hvw", key=key)


def test_hash_code_requires_a_key() -> None:
    with pytest.raises(ValueError):
        codes.hash_code("7k3m-q9xd-2hvw", key=b"")


@pytest.mark.parametrize("digits", [1, 6, 8])
def test_numeric_code_is_zero_padded_ascii_digits(digits: int) -> None:
    for _ in range(200):
        code = codes.new_numeric_code(digits)
        assert len(code) == digits
        assert set(code) <= set(string.digits)


def test_numeric_codes_cover_the_range() -> None:
    seen = {codes.new_numeric_code(1) for _ in range(500)}
    assert seen == set(string.digits)


def test_codes_equal() -> None:
    assert codes.codes_equal("123456", "123456")
    assert not codes.codes_equal("123456", "123457")
    assert not codes.codes_equal("123456", "12345")
    assert not codes.codes_equal("١٢٣٤٥٦", "123456")  # non-ASCII input does not raise


def test_new_token_is_urlsafe_and_long_enough() -> None:
    token = codes.new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert codes.new_token() != token


def test_new_token_refuses_short_tokens() -> None:
    with pytest.raises(ValueError):
        codes.new_token(8)


def test_token_digest_is_sha256_hex() -> None:
    token = codes.new_token()
    assert codes.token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert codes.token_digest(token) != codes.token_digest(codes.new_token())
