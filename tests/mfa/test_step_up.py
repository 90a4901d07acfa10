"""Step-up: sensitive operations need a recent second factor; POST /mfa/step-up gives one."""

from __future__ import annotations

import time

from tests import flows
from tests.mfa.helpers import (
    World,
    bearer,
    claims_of,
    code_at,
    enrol_email,
    enrol_totp,
    mailed_code,
    open_world,
)


async def test_step_up_is_required_and_then_accepted(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, pre_mfa = await enrol_totp(world, user)
    refused = await world.api.delete("/mfa/totp", headers=bearer(pre_mfa))
    assert refused.status_code == 403
    assert refused.json()["error"] == "mfa_step_up_required"
    change = await world.api.post("/users/me/password", headers=bearer(pre_mfa), json={
        "current_password": user["password"], "new_password": "Another-Horse-8-Battery"})
    assert change.status_code == 403

    wrong = await world.api.post("/mfa/step-up", headers=bearer(pre_mfa),
                                 json={"method": "totp", "code": "000000"})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_code"
    stepped = await world.api.post("/mfa/step-up", headers=bearer(pre_mfa),
                                   json={"method": "totp", "code": code_at(secret, world.clock.t)})
    assert stepped.status_code == 200, stepped.text
    assert stepped.headers["cache-control"] == "no-store"
    body = stepped.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    claims = claims_of(body["access_token"])
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert abs(claims["auth_time"] - time.time()) < 30
    assert claims["sid"] == claims_of(pre_mfa)["sid"]

    gone = await world.api.delete("/mfa/totp", headers=bearer(body["access_token"]))
    assert gone.status_code == 204
    me = (await world.api.get("/users/me", headers=bearer(body["access_token"]))).json()
    assert me["mfa"] == {"totp": False, "email": False, "recovery_codes_left": 0,
                          "passkeys": 0}
    assert (await flows.password_grant(world.api, user["email"],
                                       user["password"])).status_code == 200
    assert world.state.audit.counts["mfa_disabled"] == 1


async def test_step_up_by_email(make_settings, smtp_sink) -> None:
    async with open_world(make_settings, smtp_sink, email_send_per_minute=20) as world:
        user = await flows.register(world.api)
        pre_mfa = await enrol_email(world, user)
        sent = await world.api.post("/mfa/step-up/challenge", headers=bearer(pre_mfa),
                                    json={"method": "email"})
        assert sent.status_code == 200
        code = await mailed_code(world.sink, user["email"], 2)
        stepped = await world.api.post("/mfa/step-up", headers=bearer(pre_mfa),
                                       json={"method": "email", "code": code})
        assert stepped.status_code == 200
        assert claims_of(stepped.json()["access_token"])["amr"] == ["pwd", "mfa", "email"]


async def test_step_up_without_mfa_is_refused(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    response = await world.api.post("/mfa/step-up", headers=bearer(access),
                                    json={"method": "totp", "code": "123456"})
    assert response.status_code == 400
    assert response.json()["error"] == "mfa_not_enabled"
