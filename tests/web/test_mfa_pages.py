"""Two-step verification through the pages: TOTP set-up on /account, sign-in through
/login/mfa (the id rotates at completion), recovery and e-mailed codes, step-up, lockout."""

from __future__ import annotations

import re
from typing import Any

from tests import flows, infra
from tests.mfa.helpers import World, code_at, mailed_code, open_world
from tests.web.pages import (
    account_csrf,
    csrf_of,
    login_page,
    logout_page,
    register_page,
    session_cookie,
)

MANY = {"email_send_per_minute": 20, "email_send_per_hour": 50}


async def turn_on_totp(world: World) -> tuple[str, list[str]]:
    api = world.api
    response = await api.post("/account/totp/setup", data={"csrf_token": await account_csrf(api)})
    assert response.status_code == 303
    page = await api.get("/account")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret, "the secret is shown as text"
    assert "<svg" in page.text  # the QR code, inline
    confirmed = await api.post("/account/totp/confirm", data={
        "code": code_at(secret.group(1), world.clock.t), "csrf_token": csrf_of(page)})
    # Post/Redirect/Get: the codes are on the GET the POST redirects to, shown once.
    assert confirmed.status_code == 303, confirmed.text
    assert confirmed.headers["location"].startswith("/account")
    shown = await api.get("/account")
    codes = re.findall(r"<li><code>([^<]+)</code></li>", shown.text)
    assert len(codes) == 10
    assert "<li><code>" not in (await api.get("/account")).text  # a reload shows them no more
    world.clock.advance(30)  # the step just used cannot be used again
    return secret.group(1), codes


async def test_totp_set_up_and_sign_in_through_login_mfa(make_settings: Any, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        user = await register_page(api)
        secret, _codes = await turn_on_totp(world)
        again = await api.get("/account")
        assert "recovery code" in again.text and "<li><code>" not in again.text  # shown once
        await logout_page(api)

        response = await login_page(api, user["email"], user["password"])
        assert response.status_code == 303 and response.headers["location"] == "/login/mfa"
        pending = session_cookie(api)
        assert (await api.get("/account")).status_code == 303  # a password alone is not enough
        assert (await api.get("/auth/verify")).status_code == 401
        form = await api.get("/login/mfa")
        assert "Authenticator app" in form.text and "Recovery code" in form.text

        wrong = await api.post("/login/mfa", data={"method": "totp", "code": "000000",
                                                   "csrf_token": csrf_of(form)})
        assert wrong.status_code == 400 and "not valid" in wrong.text
        done = await api.post("/login/mfa", data={
            "method": "totp", "code": code_at(secret, world.clock.t),
            "csrf_token": csrf_of(form)})
        assert done.status_code == 303 and done.headers["location"] == "/account"
        signed_in = session_cookie(api)
        assert signed_in and signed_in != pending
        async with infra.Api(world.app) as replay:
            replay.http.cookies.set("authsvc_session", pending or "")
            assert (await replay.get("/login/mfa")).headers["location"] == "/login"
        verify = await api.get("/auth/verify")
        assert verify.status_code == 200
        assert verify.headers["x-auth-user-email"] == user["email"]


async def test_login_mfa_needs_the_session_csrf_token(make_settings: Any, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        user = await register_page(world.api)
        secret, _ = await turn_on_totp(world)
        await logout_page(world.api)
        await login_page(world.api, user["email"], user["password"])
        refused = await world.api.post("/login/mfa", data={
            "method": "totp", "code": code_at(secret, world.clock.t)})
        assert refused.status_code == 403
        assert (await world.api.get("/auth/verify")).status_code == 401


async def test_a_recovery_code_signs_in_once(make_settings: Any, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        user = await register_page(api)
        _secret, codes = await turn_on_totp(world)
        await logout_page(api)
        for expected in (303, 400):
            await login_page(api, user["email"], user["password"])
            form = await api.get("/login/mfa")
            response = await api.post("/login/mfa", data={
                "method": "recovery_code", "code": codes[0], "csrf_token": csrf_of(form)})
            assert response.status_code == expected
            if expected == 303:
                assert "9 unused recovery codes left" in (await api.get("/account")).text
                await logout_page(api)


async def test_email_codes_from_the_account_and_the_login_page(make_settings: Any,
                                                                smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, **MANY) as world:
        api = world.api
        user = await register_page(api)
        sent = await api.post("/account/email-mfa/enable",
                              data={"csrf_token": await account_csrf(api)})
        assert sent.status_code == 200 and "email-mfa-code" in sent.text
        code = await mailed_code(world.sink, user["email"], 1)
        on = await api.post("/account/email-mfa/confirm", data={
            "code": code, "csrf_token": csrf_of(sent)})
        assert on.status_code == 303
        assert "Codes by e-mail turned on." in (await api.get("/account")).text
        await logout_page(api)

        await login_page(api, user["email"], user["password"])
        form = await api.get("/login/mfa")
        assert "Send me a code by e-mail" in form.text
        send = await api.post("/login/mfa/send", data={"csrf_token": csrf_of(form)})
        assert send.status_code == 303
        form = await api.get("/login/mfa")
        assert "We sent a code" in form.text
        code = await mailed_code(world.sink, user["email"], 2)
        done = await api.post("/login/mfa", data={"method": "email", "code": code,
                                                  "csrf_token": csrf_of(form)})
        assert done.status_code == 303
        assert (await api.get("/auth/verify")).status_code == 200


async def test_password_change_with_mfa_needs_a_step_up(make_settings: Any, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        user = await register_page(api)
        secret, _ = await turn_on_totp(world)
        new = "Stepped-Up-Secret-77"
        refused = await api.post("/account/password", data={
            "current_password": user["password"], "new_password": new,
            "csrf_token": await account_csrf(api)})
        assert refused.status_code == 403 and "second factor" in refused.text
        assert (await flows.password_grant(api, user["email"], new)).status_code == 400
        before = session_cookie(api)
        done = await api.post("/account/password", data={
            "current_password": user["password"], "new_password": new, "method": "totp",
            "code": code_at(secret, world.clock.t), "csrf_token": await account_csrf(api)})
        assert done.status_code == 303
        assert session_cookie(api) != before
        grant = await flows.password_grant(api, user["email"], new)
        assert grant.status_code == 403 and grant.json()["error"] == "mfa_required"


async def test_turning_totp_off_needs_a_code(make_settings: Any, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        await register_page(api)
        secret, _ = await turn_on_totp(world)
        refused = await api.post("/account/totp/disable", data={
            "method": "totp", "code": "123456", "csrf_token": await account_csrf(api)})
        assert refused.status_code == 403
        done = await api.post("/account/totp/disable", data={
            "method": "totp", "code": code_at(secret, world.clock.t),
            "csrf_token": await account_csrf(api)})
        assert done.status_code == 303
        assert "Set up an authenticator app" in (await api.get("/account")).text


async def test_wrong_codes_end_the_attempt_and_lock_the_username(make_settings: Any,
                                                                 smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        user = await register_page(api)
        await turn_on_totp(world)
        await logout_page(api)
        await login_page(api, user["email"], user["password"])
        form = await api.get("/login/mfa")
        for _ in range(5):
            wrong = await api.post("/login/mfa", data={"method": "totp", "code": "000000",
                                                       "csrf_token": csrf_of(form)})
            assert wrong.status_code in (400, 429)
        over = await api.post("/login/mfa", data={"method": "totp", "code": "000000",
                                                  "csrf_token": csrf_of(form)})
        assert over.status_code in (303, 429)
        locked = await login_page(api, user["email"], user["password"])
        assert locked.status_code == 429
        assert "paused" in locked.text
