"""The passkey parts of the pages: rendered with StrictUndefined, escaped, no inline script."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

from jinja2 import StrictUndefined

from authsvc.web.templating import build_environment

XSS = '<script>alert("x")</script>'
BASE = {"csrf_token": "tok", "title": "t", "user": None, "flashes": [], "error": None,
        "notice": None}


def render(name: str, **context: object) -> str:
    env = build_environment(undefined=StrictUndefined)
    return env.get_template(name).render(**{**BASE, **context})


def test_login_offers_passkeys_with_autofill_only_when_on() -> None:
    on = render("login.html", passkeys_on=True, next="/x", username="", retry_after=None)
    assert 'autocomplete="username webauthn"' in on
    assert "data-passkey-sign-in" in on and '/static/js/passkeys.js' in on
    off = render("login.html", passkeys_on=False, next=None, username="", retry_after=None)
    assert 'autocomplete="username"' in off and "passkeys.js" not in off
    assert "<script>" not in on  # no inline script: the strict CSP holds


def test_the_mfa_page_offers_the_passkey_without_a_code_field_for_it() -> None:
    html = render("login_mfa.html", methods=["totp", "recovery_code"], passkey=True,
                  method=None, email_code_sent=False, retry_after=None)
    assert 'name="method" value="webauthn"' in html and "data-passkey-verify" in html
    assert 'id="login-method-webauthn"' not in html


def test_account_lists_passkeys_escaped_with_remove_forms() -> None:
    passkey = SimpleNamespace(id=uuid.uuid4(), name=XSS, created_at=datetime.now(UTC),
                              last_used_at=None)
    html = render(
        "account.html", user={"id": "u", "email": "a@example.com", "display_name": None,
                              "email_verified": True},
        mfa={"totp": False, "email": False, "recovery_codes_left": 0}, totp_setup=None,
        recovery_codes=None, email_mfa_pending=False, password_policy=None, sessions=[],
        passkeys_on=True, passkeys=[passkey], passkey_needs_password=True)
    assert XSS not in html and "&lt;script&gt;" in html
    assert 'action="/account/passkeys/delete"' in html and str(passkey.id) in html
    assert 'id="passkey-password"' in html and "data-passkey-add" in html
