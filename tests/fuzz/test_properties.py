"""Property-based tests (Hypothesis): e-mail and password normalization have one canonical,
idempotent form; the token parsers raise only their documented errors on arbitrary input."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jose import jwt as jose_jwt
from starlette.requests import Request

from authsvc.clients.service import parse_basic
from authsvc.errors import InvalidClient, InvalidRequest
from authsvc.forms import read_form
from authsvc.identity.emails import InvalidEmail, canonical_email
from authsvc.security.jwt import ACCESS, MFA, REFRESH, TokenCodec, TokenError
from authsvc.security.policy import (
    Blocklist,
    PasswordValidator,
    PolicyRules,
    normalize_password,
)

FAST = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ------------------------------------------------------------------------ e-mail
# A dot-atom (RFC 5322 §3.4.1): atoms joined by single dots (issue 12: nothing else is an address).
atom = st.text(st.characters(codec="ascii", categories=("L", "N"), include_characters="_+-"),
               min_size=1, max_size=10)
local_part = st.lists(atom, min_size=1, max_size=3).map(".".join)
label = st.text(st.characters(codec="ascii", categories=("Ll", "Lu", "Nd")), min_size=1,
                max_size=12)
SPECIAL_USE = {"arpa", "invalid", "local", "localhost", "onion", "test"}  # RFC 6761 names
tld = st.text(st.characters(codec="ascii", categories=("Ll", "Lu")), min_size=2,
              max_size=6).filter(lambda t: t.lower() not in SPECIAL_USE)
addresses = st.builds(lambda lo, labels, t: f"{lo}@{'.'.join(labels)}.{t}",
                      local_part, st.lists(label, min_size=1, max_size=3), tld)
blanks = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), max_size=3)


def fullwidth(text: str) -> str:
    """The fullwidth compatibility forms of ASCII (NFKC maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@FAST
@given(st.text(max_size=300))
def test_canonical_email_is_idempotent_or_refuses(value: str) -> None:
    try:
        email = canonical_email(value)
    except InvalidEmail:
        return
    assert canonical_email(email) == email
    assert email == email.strip() and unicodedata.is_normalized("NFKC", email)
    assert email.count("@") == 1 and len(email) <= 254


@FAST
@given(addresses, blanks, blanks, st.sampled_from(["same", "upper", "swap", "fullwidth"]))
def test_email_variants_have_one_canonical_form(address: str, before: str, after: str,
                                                variant: str) -> None:
    canonical = canonical_email(address)
    changed = {"same": address, "upper": address.upper(), "swap": address.swapcase(),
               "fullwidth": fullwidth(address)}[variant]
    assert canonical_email(before + changed + after) == canonical
    assert canonical == address.lower()


@FAST
@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_canonical_email_refuses_what_is_not_text(value: object) -> None:
    with pytest.raises(InvalidEmail):
        canonical_email(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- passwords
VALIDATOR = PasswordValidator(PolicyRules(), Blocklist(["password123", "correcthorse"]))


@FAST
@given(st.text(max_size=200))
def test_password_normalization_is_idempotent(password: str) -> None:
    once = normalize_password(password)
    assert normalize_password(once) == once
    # The validator judges the normalized form: a password and its normal form are one.
    assert VALIDATOR.validate(password) == VALIDATOR.validate(once)


@FAST
@given(st.text(st.characters(codec="ascii", min_codepoint=0x21, max_codepoint=0x7E),
               min_size=1, max_size=64))
def test_compatibility_variants_of_a_password_are_the_same_password(password: str) -> None:
    assert normalize_password(fullwidth(password)) == normalize_password(password)
    decomposed = unicodedata.normalize("NFD", "é" + password)
    assert normalize_password(decomposed) == normalize_password("é" + password)


@FAST
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=60)), st.booleans())
def test_password_validation_never_raises(password: str, email: str | None, mfa: bool) -> None:
    unmet = VALIDATOR.validate(password, email=email, mfa_enabled=mfa)
    assert all(u.code for u in unmet)


# ------------------------------------------------------------------------- tokens
KEY = b"property-test-key-that-is-long-enough-0123"
CODEC = TokenCodec(KEY, issuer="http://authsvc.test", audience="http://authsvc.test")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10,
)
claim_names = st.sampled_from(["iss", "aud", "sub", "jti", "exp", "iat", "nbf", "typ", "sid",
                               "roles", "x"])


@FAST
@given(st.text(max_size=400), st.sampled_from([ACCESS, REFRESH, MFA]))
def test_decode_of_arbitrary_text_raises_only_token_errors(token: str, typ: str) -> None:
    with pytest.raises(TokenError):
        CODEC.decode(token, typ=typ)


@FAST
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=4),
       st.dictionaries(claim_names, json_values, max_size=8), st.sampled_from([ACCESS, REFRESH]))
def test_decode_of_forged_segments_raises_only_token_errors(header: dict, payload: dict,
                                                             typ: str) -> None:
    """Arbitrary JSON in the header and payload, signed or not with the right key."""
    try:
        signed = jose_jwt.encode(payload, KEY, algorithm="HS256", headers=header)
    except Exception:  # noqa: BLE001 - python-jose refuses some headers; forge by hand then
        signed = ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()),
                           _b64(b"sig")])
    unsigned = ".".join([_b64(json.dumps({**header, "alg": "none"}).encode()),
                         _b64(json.dumps(payload).encode()), ""])
    for token in (signed, unsigned):
        try:
            claims = CODEC.decode(token, typ=typ)
        except TokenError:
            continue
        assert token is signed and claims["typ"] == typ
        assert isinstance(claims["sub"], str) and isinstance(claims["exp"], int)


@FAST
@given(st.dictionaries(claim_names, json_values, max_size=6))
def test_well_formed_tokens_with_arbitrary_claims(extra: dict) -> None:
    now = int(time.time())
    base = {"sub": "u", "jti": "j", "typ": ACCESS, "exp": now + 60}
    token = CODEC.encode({**base, **extra})
    try:
        claims = CODEC.decode(token, typ=ACCESS)
    except TokenError:
        return
    assert isinstance(claims["sub"], str) and isinstance(claims["jti"], str)
    assert all(isinstance(claims[c], int) for c in ("exp", "iat", "nbf"))


# ---------------------------------------------------------------- HTTP Basic, forms
@FAST
@given(st.one_of(st.none(), st.text(max_size=200),
                 st.builds(lambda raw: "Basic " + base64.b64encode(raw).decode(),
                           st.binary(max_size=100)),
                 st.builds(lambda a, b: "Basic " + base64.b64encode(f"{a}:{b}".encode()).decode(),
                           st.text(max_size=30), st.text(max_size=30))))
def test_parse_basic_returns_a_pair_none_or_invalid_client(header: str | None) -> None:
    try:
        parsed = parse_basic(header)
    except InvalidClient:
        return
    assert parsed is None or (isinstance(parsed, tuple) and len(parsed) == 2
                              and all(isinstance(p, str) for p in parsed))


def _request(body: bytes, content_type: str) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/token",
             "headers": [(b"content-type", content_type.encode("latin-1"))]}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


@FAST
@given(st.one_of(st.binary(max_size=300),
                 st.builds(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode(),
                           st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)),
                                    max_size=40))),
       st.sampled_from(["application/x-www-form-urlencoded",
                        "application/x-www-form-urlencoded; charset=utf-8",
                        "application/json", "", "multipart/form-data"]))
def test_read_form_returns_a_dict_or_invalid_request(body: bytes, content_type: str) -> None:
    try:
        form = asyncio.run(read_form(_request(body, content_type)))
    except InvalidRequest as exc:
        assert exc.status == 400
        return
    assert content_type.startswith("application/x-www-form-urlencoded")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())
    assert not any("\x00" in k or "\x00" in v for k, v in form.items())
    assume(form)
