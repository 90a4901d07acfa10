"""Every hosted page compiles, escapes what it is given, and is CSP-clean and accessible."""

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import StrictUndefined
from markupsafe import Markup

from authsvc.web.templating import TEMPLATES_DIR, build_environment, format_duration, format_time

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert("
POLICY = {
    "preset": "default", "min_length": 12, "max_length": 1024, "require_upper": True,
    "require_lower": True, "require_digits": True, "require_special": True, "blocklist": True,
    "requirements": ["At least 12 characters", XSS],
}
BASE = {
    "csrf_token": "tok-" + XSS,
    "title": XSS,
    "user": None,
    "flashes": [{"level": "info", "text": XSS}, {"level": "error", "text": XSS}],
    "error": XSS,
    "notice": XSS,
}
USER = {"id": "u1", "email": XSS + "@example.com", "display_name": XSS, "email_verified": False}
QR = Markup('<svg xmlns="http://www.w3.org/2000/svg" class="segno" viewBox="0 0 21 21">'
            '<path d="M0 0h7v7H0z"/></svg>')

PAGES: dict[str, dict[str, Any]] = {
    "login.html": {"next": "/account?x=" + XSS, "username": XSS, "retry_after": 600},
    "login_mfa.html": {
        "methods": ["totp", "email", "recovery_code"], "method": "email", "email_code_sent": True,
        "retry_after": None,
    },
    "register.html": {"password_policy": POLICY, "email": XSS, "unmet": [XSS, "Include a digit."]},
    "forgot.html": {"email": XSS, "sent": False, "retry_after": 42},
    "reset.html": {
        "token": XSS, "mfa_methods": ["totp", "recovery_code"], "password_policy": POLICY,
        "unmet": [XSS],
    },
    "verify.html": {"token": XSS, "verified": False},
    "message.html": {"message": XSS, "link_href": "/login", "link_text": XSS},
    "error.html": {"status": 429, "message": XSS, "retry_after": 61},
    "account.html": {
        "user": USER,
        "mfa": {"totp": False, "email": True, "recovery_codes_left": 7},
        "totp_setup": {
            "secret": "JBSWY3DPEHPK3PXP", "otpauth_uri": "otpauth://totp/x?secret=" + XSS,
            "qr_svg": QR, "qr_url": None,
        },
        "recovery_codes": ["abcd-efgh-jkmn", XSS],
        "email_mfa_pending": False,
        "password_policy": POLICY,
        "sessions": [
            {"handle": "h1", "user_agent": XSS, "ip": "192.0.2.1", "created_at": 1.7e9,
             "last_seen": 1.7e9 + 60, "current": True},
            {"handle": "h2" + XSS, "user_agent": "", "ip": "", "created_at": 1.7e9,
             "last_seen": 1.7e9, "current": False},
        ],
        "apps": [{"client_id": "c_1" + XSS, "name": XSS, "scopes": ["openid", XSS],
                  "since": 1.7e9}],
    },
    # Issue 16 (OpenID Connect): consent, the sign-out question, the way back to the app.
    "consent.html": {"request_id": XSS, "client_name": XSS, "redirect_host": XSS,
                     "scopes": [XSS, "See your name"]},
    "logout_confirm.html": {"id_token_hint": XSS, "client_id": XSS,
                            "post_logout_redirect_uri": XSS, "client_state": XSS},
    "continue.html": {"target": "https://app.example/cb?code=" + XSS},
}
TEMPLATES = sorted(p.name for p in TEMPLATES_DIR.glob("*.html") if not p.name.startswith("_"))


class Page(HTMLParser):
    """Collects forms, inputs, labels and every tag's attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.forms: list[dict[str, Any]] = []
        self.labels: set[str] = set()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "form":
            self.forms.append({"attrs": attributes, "inputs": []})
        elif tag in ("input", "textarea", "select", "button") and self.forms:
            self.forms[-1]["inputs"].append((tag, attributes))
        elif tag == "label" and attributes.get("for"):
            self.labels.add(attributes["for"] or "")


def render(name: str, **overrides: Any) -> str:
    env = build_environment(undefined=StrictUndefined)
    return env.get_template(name).render({**BASE, **PAGES[name], **overrides})


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def form_with(page: Page, action: str) -> dict[str, Any]:
    matches = [f for f in page.forms if f["attrs"].get("action") == action]
    assert matches, f"no form posting to {action}"
    return matches[0]


def field_names(form: dict[str, Any]) -> set[str]:
    return {a["name"] for tag, a in form["inputs"] if tag != "button" and a.get("name")}


def test_every_page_is_covered() -> None:
    assert TEMPLATES == sorted([*PAGES, "base.html"])


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_with_its_documented_context_and_escapes_it(name: str) -> None:
    html = render(name)
    assert XSS not in html
    assert ESCAPED in html
    assert html.lstrip().startswith("<!doctype html>")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_renders_with_the_optional_context_left_out(name: str) -> None:
    required = {
        "login_mfa.html": {"methods": ["totp"]},
        "register.html": {"password_policy": POLICY},
        "reset.html": {"token": "t"},
        "message.html": {"title": "Done", "message": "All good."},
        "error.html": {"status": 500},
        "account.html": {k: PAGES["account.html"][k] for k in ("user", "mfa", "sessions")},
    }.get(name, {})
    html = build_environment().get_template(name).render(csrf_token="t", **required)
    assert "</html>" in html


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_inline_script_style_or_handlers(name: str) -> None:
    # The CSP has no 'unsafe-inline': inline code would be blocked, so none may exist.
    for tag, attrs in parse(render(name)).tags:
        assert tag != "style"
        assert "style" not in attrs
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/js/")
        for value in attrs.values():
            assert not (value or "").strip().lower().startswith(("javascript:", "data:"))


def test_no_template_source_contains_inline_code() -> None:
    for path in TEMPLATES_DIR.glob("*.html"):
        source = path.read_text()
        assert "<style" not in source and "style=" not in source, path.name
        assert "<script>" not in source, path.name
        assert "|safe" not in source, path.name  # only server-made Markup may be unescaped


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_form_posts_with_a_csrf_token(name: str) -> None:
    page = parse(render(name, csrf_token="the-token"))
    for form in page.forms:
        assert form["attrs"].get("method") == "post"
        hidden = [a for t, a in form["inputs"] if a.get("name") == "csrf_token"]
        assert hidden and hidden[0].get("type") == "hidden"
        assert hidden[0].get("value") == "the-token"
    metas = [a for t, a in page.tags if t == "meta" and a.get("name") == "csrf-token"]
    assert metas and metas[0].get("content") == "the-token"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_visible_field_has_a_label_and_ids_are_unique(name: str) -> None:
    page = parse(render(name))
    assert len(page.ids) == len(set(page.ids))
    for form in page.forms:
        for tag, attrs in form["inputs"]:
            if tag == "button" or attrs.get("type") == "hidden" or "hidden" in attrs:
                continue
            assert attrs.get("id") in page.labels, (name, attrs)


@pytest.mark.parametrize(
    ("name", "action", "fields"),
    [
        ("login.html", "/login", {"username", "password", "csrf_token"}),
        ("login_mfa.html", "/login/mfa", {"method", "code", "csrf_token"}),
        ("register.html", "/register", {"email", "password", "csrf_token"}),
        ("forgot.html", "/forgot", {"email", "csrf_token"}),
        ("reset.html", "/reset", {"token", "password", "method", "code", "csrf_token"}),
        ("verify.html", "/verify", {"token", "csrf_token"}),
    ],
)
def test_form_field_names_follow_the_contract(name: str, action: str, fields: set[str]) -> None:
    assert fields <= field_names(form_with(parse(render(name)), action))


def test_login_keeps_next_and_shows_the_wait() -> None:
    html = render("login.html", next="/account/sessions", retry_after=600)
    form = form_with(parse(html), "/login")
    assert ("input", {"type": "hidden", "name": "next", "value": "/account/sessions"}) in form[
        "inputs"
    ]
    assert "Try again in 10 minutes" in html


def test_login_mfa_offers_only_the_users_methods_and_a_send_code_button() -> None:
    page = parse(render("login_mfa.html", methods=["totp", "email"], method=None))
    radios = [a for t, a in page.tags if t == "input" and a.get("type") == "radio"]
    assert [a["value"] for a in radios] == ["totp", "email"]
    assert "checked" in radios[0]
    assert field_names(form_with(page, "/login/mfa/send")) >= {"method", "csrf_token"}
    no_email = parse(render("login_mfa.html", methods=["totp"]))
    assert not [f for f in no_email.forms if f["attrs"].get("action") == "/login/mfa/send"]


def test_reset_asks_for_a_second_factor_only_from_mfa_users() -> None:
    page = parse(render("reset.html", mfa_methods=[]))
    assert "code" not in field_names(form_with(page, "/reset"))


def test_register_carries_the_policy_for_live_hints() -> None:
    page = parse(render("register.html"))
    boxes = [a for t, a in page.tags if "data-password-policy" in a]
    assert len(boxes) == 1
    policy = json.loads(boxes[0]["data-password-policy"] or "")
    assert policy["min_length"] == 12 and policy["requirements"][1] == XSS
    rules = [a["data-rule"] for t, a in page.tags if t == "li" and "data-rule" in a]
    assert {"min_length", "upper", "lower", "digits", "special"} <= set(rules)
    scripts = [a["src"] for t, a in page.tags if t == "script"]
    assert "/static/js/password_hints.js" in scripts


def test_account_shows_totp_setup_with_qr_and_secret() -> None:
    html = render("account.html")
    assert str(QR) in html  # server-made markup, rendered as is
    page = parse(html)
    assert ("code", {"class": "secret", "id": "totp-secret"}) in page.tags
    assert "JBSWY3DPEHPK3PXP" in html
    assert {"code", "csrf_token"} <= field_names(form_with(page, "/account/totp/confirm"))


def test_account_qr_falls_back_to_an_image() -> None:
    setup = {"secret": "S", "otpauth_uri": None, "qr_svg": None, "qr_url": "/account/totp/qr.png"}
    page = parse(render("account.html", totp_setup=setup))
    images = [a for t, a in page.tags if t == "img"]
    assert images and images[0]["src"] == "/account/totp/qr.png" and images[0]["alt"]


def test_account_lists_sessions_with_revoke_buttons_except_the_current_one() -> None:
    page = parse(render("account.html"))
    revoke = [f for f in page.forms if f["attrs"].get("action") == "/account/sessions/revoke"]
    assert len(revoke) == 1
    handles = [a.get("value") for t, a in revoke[0]["inputs"] if a.get("name") == "handle"]
    assert handles == ["h2" + XSS]  # escaped in the markup, intact once parsed
    form_with(page, "/logout/everywhere")
    form_with(page, "/account/password")


def test_account_shows_recovery_codes_once_given() -> None:
    assert "abcd-efgh-jkmn" in render("account.html")
    assert 'id="recovery-codes"' not in render("account.html", recovery_codes=None)


def test_account_asks_for_step_up_on_password_change_when_mfa_is_on() -> None:
    fields = field_names(form_with(parse(render("account.html")), "/account/password"))
    assert {"current_password", "new_password", "method", "code"} <= fields
    no_mfa = {"totp": False, "email": False, "recovery_codes_left": 0}
    fields = field_names(form_with(parse(render("account.html", mfa=no_mfa)), "/account/password"))
    assert "code" not in fields


def test_signed_in_pages_offer_logout_as_a_post() -> None:
    page = parse(render("message.html", user=USER))
    form_with(page, "/logout")
    assert not [a for t, a in page.tags if t == "a" and a.get("href") == "/logout"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 seconds"), (1, "1 second"), (0.2, "1 second"), (59, "59 seconds"), (60, "1 minute"),
     (61, "2 minutes"), (900, "15 minutes"), (3600, "1 hour"), (3601, "2 hours"),
     (None, "0 seconds")],
)
def test_durations_round_up(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_times_are_utc() -> None:
    assert format_time(0) == "1970-01-01 00:00 UTC"
    assert format_time(0, "iso") == "1970-01-01T00:00:00+00:00"
    assert format_time(None) == ""
