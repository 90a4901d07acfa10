"""Issue 12 item 1: the second factor cannot be brute-forced by whoever knows the password.

Only a complete login (second factor included) clears the username's failures; wrong codes
from every flow that checks a second factor (the MFA grant with fresh mfa_tokens, /login/mfa,
step-up by API and page, password reset) add up to the same lockout.
"""

from __future__ import annotations

from typing import Any

from tests import flows, infra
from tests.mfa.helpers import (
    World,
    bearer,
    code_at,
    enrol_totp,
    mfa_grant,
    mfa_token_for,
    open_world,
)
from tests.recovery.helpers import RESET_SUBJECT, mail, token_in
from tests.web.pages import account_csrf, csrf_of, login_page

PUBLIC = {"public_url": "https://id.example.org"}


def wrong_code(secret: str, world: World) -> str:
    """A six-digit code that no step of the accepted window matches."""
    valid = {code_at(secret, world.clock.t + d) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


async def test_alternating_password_grants_and_wrong_codes_lock_after_five(world: World) -> None:
    """The attack of the issue: a password grant, 4 wrong TOTP codes, again and again. Before,
    each right password cleared the count: 16 wrong codes, then a 200 with the right one."""
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    bad = wrong_code(secret, world)
    answers = []
    for _ in range(4):
        grant = await flows.password_grant(world.api, user["email"], user["password"])
        if grant.status_code != 403:
            answers.append(grant.status_code)
            continue
        for _ in range(4):
            answer = await mfa_grant(world.api, grant.json()["mfa_token"], "totp", bad)
            answers.append(answer.status_code)
    assert answers.count(400) == 5, answers  # five wrong codes in all, then locked
    assert answers[5:] and set(answers[5:]) == {429}
    locked = await flows.password_grant(world.api, user["email"], user["password"])
    assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"
    assert int(locked.headers["retry-after"]) > 0
    # The right code is refused too while locked (no oracle).
    token = await mfa_token_for_or_none(world, user)
    assert token is None


async def mfa_token_for_or_none(world: World, user: dict[str, Any]) -> str | None:
    grant = await flows.password_grant(world.api, user["email"], user["password"])
    return grant.json().get("mfa_token") if grant.status_code == 403 else None


async def test_right_password_alone_does_not_clear_failures_of_an_mfa_user(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    token = await mfa_token_for(world.api, user)
    for _ in range(3):
        assert (await mfa_grant(world.api, token, "totp", wrong_code(secret, world))
                ).status_code == 400
    await mfa_token_for(world.api, user)
    assert await world.state.protector.get_remaining_attempts(user["email"]) == 2
    # A complete login clears them.
    token = await mfa_token_for(world.api, user)
    done = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
    assert done.status_code == 200, done.text
    assert await world.state.protector.get_remaining_attempts(user["email"]) == 5


async def test_wrong_codes_from_every_flow_add_up_to_one_lockout(make_settings: Any,
                                                                 smtp_sink) -> None:
    """One wrong code each: MFA grant, /login/mfa, step-up (API), step-up (page), reset."""
    async with open_world(make_settings, smtp_sink, **PUBLIC) as world:
        api = world.api
        user = await flows.register(api)
        secret, _codes, _ = await enrol_totp(world, user)
        bad = wrong_code(secret, world)
        # Complete logins first (they clear the count): an API token and a page session.
        signed = await mfa_grant(api, await mfa_token_for(api, user), "totp",
                                 code_at(secret, world.clock.t))
        access = signed.json()["access_token"]
        world.clock.advance(30)
        async with infra.Api(world.app) as browser:
            assert (await login_page(browser, user["email"], user["password"])).status_code == 303
            form = await browser.get("/login/mfa")
            done = await browser.post("/login/mfa", data={
                "method": "totp", "code": code_at(secret, world.clock.t),
                "csrf_token": csrf_of(form)})
            assert done.status_code == 303
            # Without its device token (a trusted device's failures count on the device only).
            browser.http.cookies.delete("authsvc_device")
            world.clock.advance(30)
            async with infra.Api(world.app) as pending:
                await login_page(pending, user["email"], user["password"])
                pending_form = await pending.get("/login/mfa")
                assert await world.state.protector.get_remaining_attempts(user["email"]) == 5

                # Before each wrong code, the right password again (it used to clear the count).
                await mfa_token_for(api, user)
                assert (await mfa_grant(api, await mfa_token_for(api, user), "totp", bad)
                        ).status_code == 400
                await mfa_token_for(api, user)
                page_wrong = await pending.post("/login/mfa", data={
                    "method": "totp", "code": bad, "csrf_token": csrf_of(pending_form)})
                assert page_wrong.status_code == 400
                await mfa_token_for(api, user)
                step_up = await api.post("/mfa/step-up", headers=bearer(access),
                                         json={"method": "totp", "code": bad})
                assert step_up.status_code == 400, step_up.text
                await mfa_token_for(api, user)
                page_step_up = await browser.post("/account/recovery-codes", data={
                    "method": "totp", "code": bad, "csrf_token": await account_csrf(browser)})
                assert page_step_up.status_code == 403
                await mfa_token_for(api, user)
                assert (await api.post("/password/forgot", json={"email": user["email"]})
                        ).status_code == 202
                token = token_in(await mail(world.sink, user["email"], RESET_SUBJECT),
                                 "/reset")
                reset = await api.post("/password/reset", json={
                    "token": token, "new_password": "Quite-New-Secret-99", "method": "totp",
                    "code": bad})
                assert reset.status_code == 400, reset.text
                assert await world.state.protector.get_remaining_attempts(user["email"]) == 0
                # Locked for every flow, the right code included.
                right = code_at(secret, world.clock.t)
                assert (await flows.password_grant(api, user["email"], user["password"])
                        ).status_code == 429
                assert (await api.post("/mfa/step-up", headers=bearer(access),
                                       json={"method": "totp", "code": right})).status_code == 429
                page_again = await pending.post("/login/mfa", data={
                    "method": "totp", "code": right, "csrf_token": csrf_of(pending_form)})
                assert page_again.status_code == 429
                reset_again = await api.post("/password/reset", json={
                    "token": token, "new_password": "Quite-New-Secret-99", "method": "totp",
                    "code": right})
                assert reset_again.status_code == 429
        assert world.state.audit.counts["lockout"] >= 1


async def test_a_right_step_up_code_does_not_clear_failures(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    signed = await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp",
                             code_at(secret, world.clock.t))
    access = signed.json()["access_token"]
    world.clock.advance(30)
    for _ in range(2):
        await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp",
                        wrong_code(secret, world))
    ok = await world.api.post("/mfa/step-up", headers=bearer(access),
                              json={"method": "totp", "code": code_at(secret, world.clock.t)})
    assert ok.status_code == 200, ok.text
    assert await world.state.protector.get_remaining_attempts(user["email"]) == 3


async def test_the_mfa_page_shares_the_token_endpoints_address_budget(make_settings: Any,
                                                                     smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, rate_limit_token="3/60") as world:
        user = await flows.register(world.api)
        secret, _codes, _ = await enrol_totp(world, user)  # one /token request
        await login_page(world.api, user["email"], user["password"])
        form = await world.api.get("/login/mfa")
        answers = []
        for _ in range(3):
            answer = await world.api.post("/login/mfa", data={
                "method": "totp", "code": wrong_code(secret, world),
                "csrf_token": csrf_of(form)})
            answers.append(answer)
        assert [a.status_code for a in answers] == [400, 400, 429]
        assert "retry-after" in answers[-1].headers
        api_too = await flows.password_grant(world.api, user["email"], user["password"])
        assert api_too.status_code == 429 and api_too.json()["error"] == "rate_limited"
