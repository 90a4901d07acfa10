"""CSRF: synchronizer tokens and signed pre-session double-submit pairs."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authsvc.security.csrf import PreSessionCsrf, csrf_matches, new_csrf_token

KEY = b"k" * 32


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_new_tokens_are_random_urlsafe_and_256_bit() -> None:
    tokens = {new_csrf_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 43  # 32 bytes, unpadded base64
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_token_matches_itself_only() -> None:
    token = new_csrf_token()
    assert csrf_matches(token, token)
    assert not csrf_matches(token, new_csrf_token())
    assert not csrf_matches(token, token[:-1])
    assert not csrf_matches(token, token + "A")


@pytest.mark.parametrize(
    ("expected", "given"),
    [(None, None), ("", ""), ("abc", None), (None, "abc"), ("abc", ""), ("", "abc"),
     ("abc", b"abc"), (b"abc", b"abc"), ("abc", ["abc"]), ("abc", 0)],
)
def test_missing_empty_or_mistyped_tokens_never_match(expected: object, given: object) -> None:
    assert csrf_matches(expected, given) is False


def test_non_ascii_input_is_compared_not_raised() -> None:
    assert csrf_matches("é", "é")
    assert not csrf_matches("abc", "é")


@settings(deadline=None)
@given(st.text(), st.text())
def test_matches_is_string_equality_on_non_empty_strings(a: str, b: str) -> None:
    assert csrf_matches(a, b) == (bool(a) and a == b)


def test_pre_session_pair_verifies() -> None:
    csrf = PreSessionCsrf(KEY)
    cookie, form = csrf.issue()
    assert csrf.verify(cookie, form)
    assert cookie != form and form not in cookie


def test_pairs_do_not_mix() -> None:
    csrf = PreSessionCsrf(KEY)
    cookie_a, form_a = csrf.issue()
    cookie_b, form_b = csrf.issue()
    assert not csrf.verify(cookie_a, form_b)
    assert not csrf.verify(cookie_b, form_a)


def test_the_cookie_value_is_not_a_valid_form_token() -> None:
    csrf = PreSessionCsrf(KEY)
    cookie, _ = csrf.issue()
    assert not csrf.verify(cookie, cookie)


def test_another_key_refuses_the_pair() -> None:
    cookie, form = PreSessionCsrf(KEY).issue()
    assert not PreSessionCsrf(b"x" * 32).verify(cookie, form)


def test_the_pair_expires() -> None:
    clock = Clock()
    csrf = PreSessionCsrf(KEY, ttl=7200, clock=clock)
    cookie, form = csrf.issue()
    clock.now += 7199
    assert csrf.verify(cookie, form)
    clock.now += 1
    assert not csrf.verify(cookie, form)


def test_an_extended_expiry_breaks_the_signature() -> None:
    clock = Clock()
    csrf = PreSessionCsrf(KEY, ttl=10, clock=clock)
    cookie, form = csrf.issue()
    nonce, expires, mac = cookie.split(".")
    forged = f"{nonce}.{int(expires) + 10_000}.{mac}"
    clock.now += 20
    assert not csrf.verify(forged, form)


@pytest.mark.parametrize(
    "cookie",
    ["", "a", "a.b", "a.1.c", "a.b.c.d", "..", "a.-1.c", "x" * 600, None, 5, b"a.1.c"],
)
def test_malformed_cookies_are_refused(cookie: object) -> None:
    _, form = PreSessionCsrf(KEY).issue()
    assert PreSessionCsrf(KEY).verify(cookie, form) is False


@pytest.mark.parametrize("form", ["", None, 1, "x" * 600])
def test_malformed_form_tokens_are_refused(form: object) -> None:
    cookie, _ = PreSessionCsrf(KEY).issue()
    assert PreSessionCsrf(KEY).verify(cookie, form) is False


def test_tampering_with_any_character_is_detected() -> None:
    csrf = PreSessionCsrf(KEY)
    cookie, form = csrf.issue()
    for index in range(0, len(cookie), 7):
        if cookie[index] == ".":
            continue
        flipped = "A" if cookie[index] != "A" else "B"
        assert not csrf.verify(cookie[:index] + flipped + cookie[index + 1 :], form)


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PreSessionCsrf(KEY, ttl=0)


def test_form_token_reuses_an_authentic_cookie_and_refuses_others() -> None:
    from authsvc.security.csrf import PreSessionCsrf

    now = [1_700_000_000.0]
    csrf = PreSessionCsrf(b"k" * 32, ttl=3600, clock=lambda: now[0])
    cookie, token = csrf.issue()
    assert csrf.form_token(cookie) == token  # another tab gets the same pair
    assert csrf.form_token(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    assert csrf.form_token(None) is None and csrf.form_token("a.b.c") is None
    now[0] += 3600 - 599
    assert csrf.form_token(cookie) is None  # too close to expiry: issue a new pair
    assert csrf.verify(cookie, token)
