"""What a newcomer meets on the pages (issue 14): which field failed and where the focus goes,
the reset of an MFA user on one page, the mail after registering, HTML error pages for
browsers, the favicon, colour contrast, branding by settings and the pages' languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tests import flows, infra
from tests.mfa.helpers import World, code_at, enrol_totp, open_world
from tests.recovery.helpers import NEW_PASSWORD, PUBLIC_URL, RESET_SUBJECT, mail, token_in
from tests.smtp_server import SmtpSink
from tests.web.pages import csrf_of, login_page

from authsvc.config import ConfigError, load_settings
from authsvc.main import create_app
from authsvc.web.templating import STATIC_DIR

HTML = {"Accept": "text/html,application/xhtml+xml"}


def tag(html: str, element_id: str) -> str:
    found = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{element_id}"[^>]*>', html)
    assert found, f"no #{element_id}"
    return found.group(0)


# ----------------------------------------------------------------- failed fields
async def test_a_wrong_password_marks_the_password_field_and_focuses_it(api: infra.Api) -> None:
    user = await flows.register(api)
    failed = await login_page(api, user["email"], "wrong-password-0")
    assert failed.status_code == 400
    password, username = tag(failed.text, "password"), tag(failed.text, "username")
    assert 'aria-invalid="true"' in password and 'aria-describedby="form-error"' in password
    assert "autofocus" in password and "autofocus" not in username
    assert 'aria-invalid' not in username
    assert re.search(r'<p[^>]*role="alert"[^>]*id="form-error"', failed.text)


async def test_a_fresh_form_focuses_its_first_field_and_marks_nothing(api: infra.Api) -> None:
    form = await api.get("/login")
    assert "autofocus" in tag(form.text, "username")
    assert "aria-invalid" not in form.text and "autofocus" not in tag(form.text, "password")


async def test_a_weak_password_on_register_points_at_the_rules(api: infra.Api) -> None:
    form = await api.get("/register")
    weak = await api.post("/register", data={"email": infra.unique_email(), "password": "short",
                                             "csrf_token": csrf_of(form)})
    assert weak.status_code == 422
    password = tag(weak.text, "password")
    assert 'aria-invalid="true"' in password and "autofocus" in password
    described = re.search(r'aria-describedby="([^"]+)"', password)
    assert described and set(described.group(1).split()) == {"password-unmet",
                                                             "password-requirements"}
    assert 'id="password-unmet"' in weak.text
    assert "autofocus" not in tag(weak.text, "email")


async def test_a_taken_address_on_register_marks_the_email_field(api: infra.Api) -> None:
    user = await flows.register(api)
    form = await api.get("/register")
    taken = await api.post("/register", data={"email": user["email"], "password": NEW_PASSWORD,
                                              "csrf_token": csrf_of(form)})
    assert taken.status_code == 409
    email = tag(taken.text, "email")
    assert 'aria-invalid="true"' in email and "autofocus" in email
    assert "aria-invalid" not in tag(taken.text, "password")


async def test_register_says_a_verification_mail_was_sent(api: infra.Api) -> None:
    email = infra.unique_email()
    form = await api.get("/register")
    done = await api.post("/register", data={"email": email, "password": NEW_PASSWORD,
                                             "csrf_token": csrf_of(form)})
    assert done.status_code == 303
    account = await api.get("/account")
    assert f"We sent you a verification e-mail at {email}" in account.text
    assert "We sent you a verification e-mail" not in (await api.get("/account")).text  # once


# ------------------------------------------------------------ reset on one page
@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink, public_url=PUBLIC_URL) as opened:
        yield opened


async def test_an_mfa_user_resets_with_password_and_code_on_one_page(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    assert (await world.api.post("/password/forgot", json={"email": user["email"]})
            ).status_code == 202
    token = token_in(await mail(world.sink, user["email"], RESET_SUBJECT), "/reset")
    form = await world.api.get("/reset", params={"token": token})
    assert form.status_code == 200
    assert 'name="password"' in form.text and 'name="code"' in form.text  # both, at once
    radios = re.findall(r'type="radio" name="method" id="[^"]+" value="([^"]+)"', form.text)
    assert radios == ["totp", "recovery_code"]
    done = await world.api.post("/reset", data={
        "token": token, "password": NEW_PASSWORD, "method": "totp",
        "code": code_at(secret, world.clock.t), "csrf_token": csrf_of(form)})
    assert done.status_code == 200 and "Your password was changed" in done.text


async def test_the_reset_page_of_a_user_without_mfa_and_of_a_bad_link_asks_no_code(
        world: World) -> None:
    user = await flows.register(world.api)
    await world.api.post("/password/forgot", json={"email": user["email"]})
    token = token_in(await mail(world.sink, user["email"], RESET_SUBJECT), "/reset")
    for link in (token, "A" * 43):
        form = await world.api.get("/reset", params={"token": link})
        assert form.status_code == 200
        assert 'name="password"' in form.text and 'name="code"' not in form.text


# ------------------------------------------------------------- errors, favicon
async def test_a_browser_gets_an_html_error_page_and_an_api_client_json(api: infra.Api) -> None:
    page = await api.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and "Error 404" in page.text
    assert '"error"' not in page.text
    data = await api.get("/no-such-page", headers={"Accept": "application/json"})
    assert data.status_code == 404 and data.json()["error"] == "not_found"
    plain = await api.get("/no-such-page")
    assert plain.json()["error"] == "not_found"
    wrong_method = await api.delete("/login", headers=HTML)
    assert wrong_method.status_code == 405 and "text/html" in wrong_method.headers["content-type"]
    assert "GET" in wrong_method.headers["allow"]


async def test_the_favicon_is_served_and_linked(api: infra.Api) -> None:
    icon = await api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login = await api.get("/login")
    assert '<link rel="icon" href="/favicon.ico"' in login.text


# --------------------------------------------------------------------- contrast
def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_have_at_least_4_5_to_1_contrast_in_both_schemes() -> None:
    css = (STATIC_DIR / "css" / "app.css").read_text()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    for scheme in (light, dark):
        colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6});", scheme))
        pairs = [("ok", "ok-bg"), ("text", "surface"), ("muted", "surface"), ("muted", "bg"),
                 ("primary", "surface"), ("primary-text", "primary"), ("danger", "surface"),
                 ("text", "error-bg"), ("text", "ok-bg"), ("text", "info-bg"), ("text", "warn-bg")]
        for fg, bg in pairs:
            assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg, colours[fg], colours[bg])


# --------------------------------------------------------------------- branding
@pytest_asyncio.fixture
async def branded(make_settings: Any, tmp_path: Path) -> AsyncIterator[infra.Api]:
    (tmp_path / "login.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Acme sign-in</h1>'
        '<form method="post" action="/login"><input type="hidden" name="csrf_token" '
        'value="{{ csrf_token }}"></form>{% endblock %}')
    app = create_app(make_settings(
        page_templates_dir=tmp_path, product_name="Acme ID", brand_logo_url="/static/acme.svg",
        brand_primary_color="#7a1fa2", brand_primary_text_color="#ffffff"))
    async with infra.running(app), infra.Api(app) as api:
        yield api


async def test_operators_brand_the_pages_by_settings(branded: infra.Api) -> None:
    login = await branded.get("/login")
    assert "<h1>Acme sign-in</h1>" in login.text  # their template replaced ours
    assert "<title>" in login.text and "· Acme ID</title>" in login.text
    assert '<img src="/static/acme.svg"' in login.text
    assert '<link rel="stylesheet" href="/branding.css">' in login.text
    forgot = await branded.get("/forgot")  # not overridden: ours, with their name
    assert "Reset your password" in forgot.text and "Protected by Acme ID." in forgot.text
    css = await branded.get("/branding.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "--primary: #7a1fa2;" in css.text and "--primary-text: #ffffff;" in css.text


async def test_unbranded_pages_link_no_branding_stylesheet(api: infra.Api) -> None:
    login = await api.get("/login")
    assert "/branding.css" not in login.text and "· authsvc</title>" in login.text
    assert (await api.get("/branding.css")).text == ""


@pytest.mark.parametrize(("name", "value"), [
    ("brand_primary_color", "red;} body{display:none"),
    ("brand_primary_color", "#12345"),
    ("brand_logo_url", "https://cdn.example/logo.png"),
    ("brand_logo_url", "//evil.example/x.png"),
    ("brand_logo_url", "javascript:alert(1)"),
])
def test_brand_settings_that_could_break_out_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"AUTHSVC_{name.upper()}"):
        load_settings(**{name: value})


# -------------------------------------------------------------------- languages
@pytest.mark.parametrize(("accept", "lang"), [
    ("de-DE,de;q=0.9,en;q=0.8", "de"), ("fr-FR, de;q=0.5", "de"), ("fr", "en"),
    ("de;q=0, en", "en"), ("", "en"), ("en-GB,de;q=0.9", "en"), ("*", "en"),
])
async def test_the_pages_speak_the_browsers_language(api: infra.Api, accept: str,
                                                     lang: str) -> None:
    login = await api.get("/login", headers={"Accept-Language": accept})
    assert login.status_code == 200
    assert f'<html lang="{lang}">' in login.text
    assert login.headers["content-language"] == lang
    assert "accept-language" in login.headers["vary"].lower()
    if lang == "de":
        assert "<h1 id=\"login-title\">Anmelden</h1>" in login.text
        assert "Passwort vergessen?" in login.text
    else:
        assert "<h1 id=\"login-title\">Sign in</h1>" in login.text


async def test_a_german_error_page(api: infra.Api) -> None:
    page = await api.get("/no-such-page", headers={**HTML, "Accept-Language": "de"})
    assert page.status_code == 404 and "Fehler 404" in page.text
    assert "Seite nicht gefunden" in page.text


async def test_the_messages_of_a_failed_sign_in_are_german_too(api: infra.Api) -> None:
    user = await flows.register(api)
    german = {"Accept-Language": "de"}
    form = await api.get("/login", headers=german)
    failed = await api.post("/login", headers=german, data={
        "username": user["email"], "password": "wrong-password-0", "csrf_token": csrf_of(form)})
    assert failed.status_code == 400
    assert "E-Mail-Adresse oder Passwort ist falsch." in failed.text
    assert "Wrong e-mail or password." not in failed.text


def test_every_string_of_the_pages_has_a_german_translation() -> None:
    """The catalog covers every message the templates use, and its .mo is compiled from it."""
    babel = pytest.importorskip("babel.messages.pofile")
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import write_mo

    import authsvc.web as web

    root = Path(web.__file__).parent
    used = {message for _file, _line, message, *_ in extract_from_dir(
        str(root / "templates"), method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}) if message}
    marked = {message for _file, _line, message, *_ in extract_from_dir(
        str(root), method_map=[("*.py", "python")], keywords={"N_": None}) if message}
    assert "Wrong e-mail or password." in marked  # the pages' messages of the Python code
    used |= marked
    po = root / "locale" / "de" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = babel.read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert used and used <= translated, sorted(used - translated)
    import io

    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (po.with_suffix(".mo")).read_bytes(), "run pybabel compile"


async def test_a_wrong_current_password_on_the_account_page_marks_that_field(
        api: infra.Api) -> None:
    from tests.web.pages import account_csrf, register_page

    await register_page(api)
    failed = await api.post("/account/password", data={
        "current_password": "not-my-password-1", "new_password": "Brand-New-Secret-99",
        "csrf_token": await account_csrf(api)})
    assert failed.status_code == 400
    current = tag(failed.text, "current-password")
    assert 'aria-invalid="true"' in current and "autofocus" in current
    assert 'aria-describedby="form-error"' in current
    assert "aria-invalid" not in tag(failed.text, "new-password")
