"""Sign-in through the pages: the session id changes, the old id dies, lockout is one rule."""

from __future__ import annotations

import re

import pytest
from tests import flows
from tests.infra import Api
from tests.web.pages import csrf_of, login_page, logout_page, register_page, session_cookie


async def test_register_signs_in_and_shows_the_account(api: Api) -> None:
    user = await register_page(api)
    page = await api.get("/account")
    assert page.status_code == 200
    assert user["email"] in page.text
    assert "this browser" in page.text


async def test_login_sets_a_new_session_id_and_the_old_one_dies(app, api: Api) -> None:
    user = await register_page(api)
    first = session_cookie(api)
    assert first
    await logout_page(api)
    assert session_cookie(api) is None
    response = await login_page(api, user["email"], user["password"])
    assert response.status_code == 303
    second = session_cookie(api)
    assert second and second != first
    async with Api(app) as attacker:
        attacker.http.cookies.set("authsvc_session", first)
        stale = await attacker.get("/account")
        assert stale.status_code == 303
        assert stale.headers["location"].startswith("/login")


async def test_a_fixated_id_does_not_survive_login(app, api: Api) -> None:
    user = await register_page(api)
    await logout_page(api)
    # The attacker plants an id they know (here: a pre-login session from another browser).
    planted = "A" * 43
    api.http.cookies.clear()
    api.http.cookies.set("authsvc_session", planted, domain="testserver.local")
    response = await login_page(api, user["email"], user["password"])
    assert response.status_code == 303
    issued = session_cookie(api)
    assert issued and issued != planted


async def test_wrong_password_is_a_clear_message(api: Api) -> None:
    user = await register_page(api)
    await logout_page(api)
    response = await login_page(api, user["email"], "not-the-password")
    assert response.status_code == 400
    assert "Wrong e-mail or password." in response.text
    assert session_cookie(api) is None


async def test_five_wrong_passwords_lock_the_page_and_the_api(app, api: Api, clock) -> None:
    user = await register_page(api)
    await logout_page(api)
    for _ in range(5):
        response = await login_page(api, user["email"], "wrong-password-1")
        assert response.status_code == 400, response.text
        clock.advance(61)  # past the progressive cooldown: each failure counts
    locked = await login_page(api, user["email"], user["password"])
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60
    assert "sign-in is paused" in locked.text or "paused" in locked.text
    assert re.search(r"Try again in 1[45] minutes", locked.text)
    assert session_cookie(api) is None
    async with Api(app) as other:
        grant = await flows.password_grant(other, user["email"], user["password"])
        assert grant.status_code == 429
        assert grant.json()["error"] == "temporarily_locked"


async def test_next_is_followed_after_login(api: Api) -> None:
    user = await register_page(api)
    await logout_page(api)
    form = await api.get("/login?next=/account%3Ftab%3D2")
    response = await api.post("/login", data={"username": user["email"],
                                              "password": user["password"],
                                              "csrf_token": csrf_of(form),
                                              "next": "/account?tab=2"})
    assert response.headers["location"] == "/account?tab=2"


@pytest.mark.parametrize("payload", [
    "//evil.example", "/\\evil.example", "https:evil.example", "javascript:alert(1)",
    "https://evil.example/", "%2F%2Fevil.example", "/%2F/evil.example", "/%5Cevil.example",
    "%252F%252Fevil.example", "\uff0f\uff0fevil.example", "/\u2215evil.example",
    "\u2044\u2044evil.example", "/\t/evil.example", "JaVaScRiPt:alert(1)",
    "http://evil.example@authsvc.test/", " //evil.example",
])
async def test_open_redirect_payloads_land_on_the_account(api: Api, payload: str) -> None:
    user = await register_page(api)
    await logout_page(api)
    response = await login_page(api, user["email"], user["password"], next=payload)
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


async def test_an_allowed_host_is_followed(make_settings) -> None:
    from tests import infra

    from authsvc.main import create_app

    app = create_app(make_settings(allowed_redirect_hosts=["app.example.com"]))
    async with infra.running(app), Api(app) as api:
        user = await register_page(api)
        await logout_page(api)
        response = await login_page(api, user["email"], user["password"],
                                    next="https://app.example.com/dashboard")
        assert response.headers["location"] == "https://app.example.com/dashboard"


async def test_login_rate_limit_is_a_clear_page(make_settings) -> None:
    from tests import infra

    from authsvc.main import create_app

    app = create_app(make_settings(rate_limit_login_page="2/60"))
    async with infra.running(app), Api(app) as api:
        for _ in range(2):
            await login_page(api, "nobody@example.com", "whatever-password")
        limited = await login_page(api, "nobody@example.com", "whatever-password")
        assert limited.status_code == 429
        assert limited.headers["retry-after"]
        assert "text/html" in limited.headers["content-type"]
        assert "Try again in" in limited.text
