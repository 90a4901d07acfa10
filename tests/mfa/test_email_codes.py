"""E-mailed codes, read from a real SMTP server: enrolment, login, expiry, attempt cap, limits."""

from __future__ import annotations

from tests import flows
from tests.mfa.helpers import (
    World,
    bearer,
    claims_of,
    code_mails,
    enrol_email,
    mailed_code,
    mfa_grant,
    mfa_token_for,
    open_world,
)

MANY = {"email_send_per_minute": 20, "email_send_per_hour": 50}


async def test_email_enrolment_and_login(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, **MANY) as world:
        user = await flows.register(world.api)
        access = await enrol_email(world, user)
        me = (await world.api.get("/users/me", headers=bearer(access))).json()
        assert me["mfa"] == {"totp": False, "email": True, "recovery_codes_left": 0,
                          "passkeys": 0}

        response = await flows.password_grant(world.api, user["email"], user["password"])
        assert response.status_code == 403
        assert response.json()["mfa_methods"] == ["email"]
        token = response.json()["mfa_token"]
        sent = await world.api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
        assert sent.status_code == 200
        assert sent.json() == {"method": "email", "expires_in": 600}
        code = await mailed_code(world.sink, user["email"], 2)
        mail = code_mails(world.sink, user["email"])[-1]
        assert "sign-in code" in mail["Subject"]

        done = await mfa_grant(world.api, token, "email", code)
        assert done.status_code == 200, done.text
        assert claims_of(done.json()["access_token"])["amr"] == ["pwd", "mfa", "email"]
        replay = await mfa_grant(world.api, await mfa_token_for(world.api, user), "email", code)
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"


async def test_an_email_code_expires(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, **MANY) as world:
        user = await flows.register(world.api)
        await enrol_email(world, user)
        token = await mfa_token_for(world.api, user)
        await world.api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
        code = await mailed_code(world.sink, user["email"], 2)
        world.clock.advance(601)  # email_code_ttl is 600 seconds
        late = await mfa_grant(world.api, token, "email", code)
        assert late.status_code == 400
        assert late.json()["error"] == "invalid_grant"


async def test_a_code_is_void_after_the_attempt_cap(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    assert (await world.api.post("/mfa/email/enable", headers=bearer(access))).status_code == 200
    code = await mailed_code(world.sink, user["email"], 1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):  # email_code_max_attempts
        response = await world.api.post("/mfa/email/confirm", headers=bearer(access),
                                        json={"code": wrong})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_code"
    right = await world.api.post("/mfa/email/confirm", headers=bearer(access),
                                 json={"code": code})
    assert right.status_code == 400


async def test_sending_is_limited_per_user(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    assert (await world.api.post("/mfa/email/enable", headers=bearer(access))).status_code == 200
    again = await world.api.post("/mfa/email/enable", headers=bearer(access))
    assert again.status_code == 429
    assert again.json()["error"] == "rate_limited"
    assert int(again.headers["retry-after"]) >= 1
    await mailed_code(world.sink, user["email"], 1)
    assert len(code_mails(world.sink, user["email"])) == 1


async def test_the_hourly_limit(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, email_send_per_minute=20,
                          email_send_per_hour=3) as world:
        user = await flows.register(world.api)
        access = (await flows.login(world.api, user))["access_token"]
        codes = [(await world.api.post("/mfa/email/enable", headers=bearer(access))).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]


async def test_a_resend_replaces_the_old_code(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, **MANY) as world:
        user = await flows.register(world.api)
        access = (await flows.login(world.api, user))["access_token"]
        for _ in range(2):
            await world.api.post("/mfa/email/enable", headers=bearer(access))
        first = await mailed_code(world.sink, user["email"], 1)
        second = await mailed_code(world.sink, user["email"], 2)
        if first != second:
            old = await world.api.post("/mfa/email/confirm", headers=bearer(access),
                                       json={"code": first})
            assert old.status_code == 400
        new = await world.api.post("/mfa/email/confirm", headers=bearer(access),
                                   json={"code": second})
        assert new.status_code == 204


async def test_challenge_needs_a_live_mfa_token_and_email_mfa(world: World) -> None:
    user = await flows.register(world.api)
    from tests.mfa.helpers import enrol_totp

    await enrol_totp(world, user)
    token = await mfa_token_for(world.api, user)
    no_email = await world.api.post("/mfa/challenge", json={"mfa_token": token, "method": "email"})
    assert no_email.status_code == 400
    bad = await world.api.post("/mfa/challenge", json={"mfa_token": "x.y.z", "method": "email"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    assert code_mails(world.sink, user["email"]) == []


async def test_a_mail_failure_is_counted_not_shown(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, smtp_retries=0) as world:
        user = await flows.register(world.api)
        access = (await flows.login(world.api, user))["access_token"]
        assert await world.state.courier.drain(5)  # the verification mail left before the stop
        world.sink.stop()
        sent = await world.api.post("/mfa/email/enable", headers=bearer(access))
        assert sent.status_code == 200
        assert await world.state.courier.drain(5)
        assert world.state.mail_counts["failed"] == 1
