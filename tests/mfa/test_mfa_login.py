"""The MFA grant with TOTP: amr, replay (also across a Redis flush), the ±1 window, concurrency,
the mfa_token's limits, and the lockout."""

from __future__ import annotations

import asyncio
import time

from tests import flows, infra
from tests.flows import basic
from tests.mfa.helpers import (
    World,
    bearer,
    claims_of,
    code_at,
    enrol_totp,
    login_totp,
    mfa_grant,
    mfa_token_for,
)


async def test_totp_login_issues_tokens_with_mfa_otp_amr(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    body = await login_totp(world, user, secret)
    claims = claims_of(body["access_token"])
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert abs(claims["auth_time"] - time.time()) < 30
    assert body["refresh_token"]
    # The family remembers the factors: a refreshed token still says mfa.
    refreshed = (await flows.refresh(world.api, body["refresh_token"])).json()
    assert claims_of(refreshed["access_token"])["amr"] == ["pwd", "mfa", "otp"]


async def test_a_used_code_is_refused_even_after_redis_lost_its_keys(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    code = code_at(secret, world.clock.t)
    assert (await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp",
                            code)).status_code == 200
    replay = await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp", code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    await infra.flush_keeping_claim(world.state.redis)  # the Redis gate is gone
    replay = await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp", code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    world.clock.advance(30)
    assert (await login_totp(world, user, secret))["access_token"]


async def test_one_step_either_side_is_accepted_two_are_not(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    world.clock.advance(300)
    now = world.clock.t
    token = await mfa_token_for(world.api, user)
    for off in (-60, 60):
        response = await mfa_grant(world.api, token, "totp", code_at(secret, now + off))
        assert response.status_code == 400, off
    assert (await mfa_grant(world.api, token, "totp", code_at(secret, now - 30))).status_code == 200
    token = await mfa_token_for(world.api, user)
    assert (await mfa_grant(world.api, token, "totp", code_at(secret, now + 30))).status_code == 200
    # Steps only move forward: the current step is older than the one just used.
    token = await mfa_token_for(world.api, user)
    assert (await mfa_grant(world.api, token, "totp", code_at(secret, now))).status_code == 400


async def test_two_concurrent_submissions_of_one_code_succeed_once(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    tokens = [await mfa_token_for(world.api, user) for _ in range(2)]
    code = code_at(secret, world.clock.t)
    answers = await asyncio.gather(*(mfa_grant(world.api, t, "totp", code) for t in tokens))
    assert sorted(r.status_code for r in answers) == [200, 400]


async def test_one_mfa_token_completes_one_login(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    token = await mfa_token_for(world.api, user)
    assert (await mfa_grant(world.api, token, "totp",
                            code_at(secret, world.clock.t))).status_code == 200
    world.clock.advance(30)
    spent = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
    assert spent.status_code == 400
    assert spent.json()["error"] == "invalid_grant"


async def test_garbage_and_expired_mfa_tokens_are_invalid_grant(world: World) -> None:
    from authsvc.security import jwt

    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    expired = world.state.codec.encode({"sub": user["id"], "typ": jwt.MFA, "jti": "x" * 22,
                                        "exp": int(time.time()) - 120})
    access = (await login_totp(world, user, secret))["access_token"]
    world.clock.advance(30)
    for token in ("garbage", expired, access):
        response = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_the_mfa_token_is_no_bearer_token_and_inactive_at_introspection(
    world: World,
) -> None:
    user = await flows.register(world.api)
    await enrol_totp(world, user)
    token = await mfa_token_for(world.api, user)
    me = await world.api.get("/users/me", headers=bearer(token))
    assert me.status_code == 401
    assert me.json()["error"] == "invalid_token"
    from authsvc.db import transaction

    async for session in transaction(world.state.sessions):
        issued = await world.state.clients.create(session, "resource-server")
    for hint in ({}, {"token_type_hint": "refresh_token"}):
        response = await world.api.post("/introspect", data={"token": token, **hint},
                                        headers=basic(issued.client_id, issued.client_secret))
        assert response.json() == {"active": False}


async def test_five_wrong_codes_void_the_mfa_token(make_settings, smtp_sink) -> None:
    from tests.mfa.helpers import open_world

    async with open_world(make_settings, smtp_sink, lockout_max_attempts=50) as world:
        user = await flows.register(world.api)
        secret, _codes, _access = await enrol_totp(world, user)
        token = await mfa_token_for(world.api, user)
        for _ in range(5):
            wrong = await mfa_grant(world.api, token, "totp", "000000")
            assert wrong.status_code == 400
        right = await mfa_grant(world.api, token, "totp", code_at(secret, world.clock.t))
        assert right.status_code == 400
        assert right.json()["error"] == "invalid_grant"
        assert world.state.audit.counts["mfa_token_void"] == 1
        assert world.state.audit.counts["mfa_failure"] == 5
        assert (await login_totp(world, user, secret))["access_token"]  # a new token works


async def test_wrong_codes_count_toward_the_username_lockout(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _access = await enrol_totp(world, user)
    first, second = [await mfa_token_for(world.api, user) for _ in range(2)]
    for _ in range(5):  # lockout_max_attempts
        assert (await mfa_grant(world.api, first, "totp", "000000")).status_code == 400
    locked = await mfa_grant(world.api, second, "totp", code_at(secret, world.clock.t))
    assert locked.status_code == 429
    assert locked.json()["error"] == "temporarily_locked"
    assert int(locked.headers["retry-after"]) > 0
    again = await flows.password_grant(world.api, user["email"], user["password"])
    assert again.status_code == 429
    assert again.json()["error"] == "temporarily_locked"


async def test_unknown_method_and_missing_parameters(world: World) -> None:
    user = await flows.register(world.api)
    await enrol_totp(world, user)
    token = await mfa_token_for(world.api, user)
    assert (await mfa_grant(world.api, token, "sms", "123456")).json()["error"] == "invalid_grant"
    missing = await world.api.post("/token", data={"grant_type": "urn:authsvc:params:oauth:"
                                                   "grant-type:mfa", "mfa_token": token})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
