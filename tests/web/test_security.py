"""Cookie flags, CSRF refusals that change nothing, security headers, session timeouts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests import flows, infra
from tests.infra import STRONG_PASSWORD, Api
from tests.web.pages import (
    account_csrf,
    csrf_of,
    login_page,
    logout_page,
    register_page,
    session_cookie,
)

from authsvc.main import create_app
from authsvc.web.headers import CSP


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers of a response by cookie name (the whole header line)."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


# ------------------------------------------------------------------------- cookies
async def test_the_session_cookie_is_httponly_lax_host_wide(api: Api) -> None:
    user = await register_page(api)
    await logout_page(api)
    response = await login_page(api, user["email"], user["password"])
    line = set_cookies(response)["authsvc_session"]
    lowered = line.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    assert "domain=" not in lowered
    assert "secure" not in lowered.replace("samesite", "")  # testing profile: cookie_secure off
    assert "max-age" not in lowered and "expires" not in lowered  # ends with the browser
    value = line.split("=", 1)[1].split(";", 1)[0]
    assert len(value) == 43  # 256 random bits, nothing else


async def test_secure_cookies_use_the_host_prefix(make_settings: Any) -> None:
    app = create_app(make_settings(cookie_secure=True))
    async with infra.running(app), Api(app) as api:
        api.http.base_url = httpx.URL("https://testserver")
        form = await api.get("/register")
        csrf_line = set_cookies(form)["__Host-authsvc_csrf"].lower()
        assert "secure" in csrf_line and "httponly" in csrf_line and "path=/" in csrf_line
        response = await api.post("/register", data={
            "email": infra.unique_email(), "password": STRONG_PASSWORD,
            "csrf_token": csrf_of(form)})
        assert response.status_code == 303
        line = set_cookies(response)["__Host-authsvc_session"].lower()
        for flag in ("secure", "httponly", "samesite=lax", "path=/"):
            assert flag in line
        assert "domain=" not in line
        assert "authsvc_session" not in set_cookies(response)
        assert (await api.get("/account")).status_code == 200
        # Over HTTPS every response carries HSTS.
        assert "max-age=" in response.headers["strict-transport-security"]


async def test_logout_clears_the_cookie_and_kills_the_id(app: Any, api: Api) -> None:
    await register_page(api)
    sid = session_cookie(api)
    response = await logout_page(api)
    assert response.status_code == 303
    assert 'authsvc_session=""' in set_cookies(response)["authsvc_session"]
    async with Api(app) as replay:
        replay.http.cookies.set("authsvc_session", sid or "")
        assert (await replay.get("/account")).status_code == 303
        assert (await replay.get("/auth/verify")).status_code == 401


# ---------------------------------------------------------------------------- CSRF
async def test_password_change_without_a_token_changes_nothing(api: Api) -> None:
    user = await register_page(api)
    new = "Another-Strong-Pass-42"
    for data, headers in [
        ({}, {}),
        ({"csrf_token": "forged-token-value"}, {}),
        ({}, {"X-CSRF-Token": "forged-token-value"}),
    ]:
        response = await api.post("/account/password", headers=headers, data={
            "current_password": user["password"], "new_password": new, **data})
        assert response.status_code == 403
        assert "text/html" in response.headers["content-type"]
        assert "nothing was changed" in response.text
    async with Api(api.http._transport.app) as other:  # type: ignore[attr-defined]
        assert (await flows.password_grant(other, user["email"], user["password"])).status_code \
            == 200
        assert (await flows.password_grant(other, user["email"], new)).status_code == 400


async def test_the_header_token_is_accepted_for_fetch(api: Api) -> None:
    await register_page(api)
    token = await account_csrf(api)
    response = await api.post("/account/sessions/revoke", data={"handle": "0" * 16},
                              headers={"X-CSRF-Token": token})
    assert response.status_code == 303


async def test_logout_without_a_token_keeps_the_session(api: Api) -> None:
    await register_page(api)
    response = await api.post("/logout", data={})
    assert response.status_code == 403
    assert (await api.get("/account")).status_code == 200


async def test_logout_everywhere_without_a_token_keeps_the_session(api: Api) -> None:
    await register_page(api)
    response = await api.post("/logout/everywhere", data={"csrf_token": "x"})
    assert response.status_code == 403
    assert (await api.get("/account")).status_code == 200


async def test_login_without_the_pre_session_pair_is_refused(app: Any, api: Api) -> None:
    user = await register_page(api)
    await logout_page(api)
    form = await api.get("/login")
    token = csrf_of(form)
    async with Api(app) as attacker:  # a token without its cookie: login CSRF
        response = await attacker.post("/login", data={
            "username": user["email"], "password": user["password"], "csrf_token": token})
        assert response.status_code == 403
        assert session_cookie(attacker) is None
    response = await api.post("/login", data={
        "username": user["email"], "password": user["password"], "csrf_token": "x" + token})
    assert response.status_code == 403
    assert session_cookie(api) is None


async def test_register_without_a_token_creates_nothing(api: Api) -> None:
    email = infra.unique_email()
    response = await api.post("/register", data={"email": email, "password": STRONG_PASSWORD})
    assert response.status_code == 403
    grant = await flows.password_grant(api, email, STRONG_PASSWORD)
    assert grant.status_code == 400


async def test_get_never_changes_state(api: Api) -> None:
    await register_page(api)
    for path in ("/logout/everywhere", "/account/password"):
        response = await api.get(path)
        assert response.status_code in (404, 405)
    # GET /logout is OpenID Connect RP-initiated logout (issue 16): without an ID token of
    # this user it only asks, with a CSRF-protected form.
    asked = await api.get("/logout")
    assert asked.status_code == 200 and 'action="/logout/end"' in asked.text
    assert (await api.get("/account")).status_code == 200


# ------------------------------------------------------------------------- headers
@pytest.mark.parametrize("path", ["/login", "/register", "/account", "/auth/verify"])
async def test_pages_carry_the_security_headers(api: Api, path: str) -> None:
    await register_page(api)
    response = await api.get(path, headers={"Accept": "text/html"})
    if response.status_code == 200 and path == "/auth/verify":
        return  # a bare 200 for the proxy, no page
    headers = response.headers
    assert headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in headers  # plain HTTP


async def test_redirects_and_error_pages_carry_them_too(api: Api) -> None:
    redirect = await api.get("/account")
    assert redirect.status_code == 303
    assert redirect.headers["content-security-policy"] == CSP
    refused = await api.post("/logout/everywhere", data={})
    assert refused.headers["x-frame-options"] == "DENY"


async def test_pages_have_no_inline_script(api: Api) -> None:
    await register_page(api)
    for path in ("/account", "/login", "/register"):
        text = (await api.get(path)).text
        assert "<script>" not in text and " on" + "click=" not in text and "style=" not in text


async def test_hsts_only_behind_a_trusted_proxy_that_says_https(make_settings: Any) -> None:
    app = create_app(make_settings(trusted_proxies=["10.9.0.0/16"]))
    async with infra.running(app):
        async with Api(app, ip="10.9.0.5") as via_proxy:
            https = await via_proxy.get("/login", headers={"X-Forwarded-Proto": "https"})
            assert https.headers["strict-transport-security"].startswith("max-age=")
            plain = await via_proxy.get("/login", headers={"X-Forwarded-Proto": "http"})
            assert "strict-transport-security" not in plain.headers
        async with Api(app, ip="10.200.0.5") as direct:
            spoofed = await direct.get("/login", headers={"X-Forwarded-Proto": "https"})
            assert "strict-transport-security" not in spoofed.headers


async def test_the_json_api_is_untouched(api: Api) -> None:
    response = await api.get("/password-policy")
    assert response.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in response.headers
    missing = await api.post("/users", json={})
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_request"


# ------------------------------------------------------------------------ timeouts
async def test_an_idle_session_expires(api: Api, state: Any, session_clock: Any) -> None:
    await register_page(api)
    session_clock.advance(state.settings.session_idle_timeout - 5)
    assert (await api.get("/account")).status_code == 200  # activity restarts the idle clock
    session_clock.advance(state.settings.session_idle_timeout - 5)
    assert (await api.get("/account")).status_code == 200
    session_clock.advance(state.settings.session_idle_timeout + 1)
    response = await api.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"
    login = await api.get("/login?next=/account")
    assert "Your session has expired" in login.text


async def test_the_absolute_lifetime_ends_an_active_session(
    api: Api, state: Any, session_clock: Any
) -> None:
    await register_page(api)
    step = state.settings.session_idle_timeout - 60
    elapsed = 0
    while elapsed + step < state.settings.session_absolute_timeout:
        session_clock.advance(step)
        elapsed += step
        assert (await api.get("/account")).status_code == 200
    session_clock.advance(state.settings.session_absolute_timeout - elapsed + 1)
    assert (await api.get("/account")).status_code == 303
    assert (await api.get("/auth/verify")).status_code == 401
