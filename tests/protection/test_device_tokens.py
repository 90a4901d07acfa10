"""Device tokens (OWASP "device cookies", issue 12 item 3): a lock of the username holds for
every client without a valid device token of that user; one with it still gets in, and its own
failures lock only that device token. Attacked: forged, expired, another user's, an access token
in its place, a locked device token; on /token (password and MFA grant) and the pages."""

from __future__ import annotations

import time
from typing import Any

from jose import jwt as jose_jwt

from authsvc.identity.login import lockout_key
from tests import flows, infra
from tests.infra import Api
from tests.mfa.helpers import code_at, enrol_totp, mfa_grant, open_world
from tests.web.pages import login_page

WRONG = "Wrong-password-1!"


async def lock_out(api: Api, username: str, clock: Any, **extra: str) -> None:
    """An attacker's five wrong passwords (from a client without the device token)."""
    for _ in range(5):
        answer = await flows.password_grant(api, username, WRONG, **extra)
        assert answer.status_code == 400, answer.text
        clock.advance(120)  # past the cooldown, inside the window


async def test_a_complete_login_returns_a_device_token_that_gets_past_a_lock(
        api: Api, clock: Any, state: Any) -> None:
    user = await flows.register(api)
    first = await flows.login(api, user)
    device = first["device_token"]
    await lock_out(api, user["email"], clock)
    locked = await flows.password_grant(api, user["email"], user["password"])
    assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"
    trusted = await flows.password_grant(api, user["email"], user["password"],
                                         device_token=device)
    assert trusted.status_code == 200, trusted.text
    assert trusted.json()["device_token"] and trusted.json()["device_token"] != device
    # The owner's success did not lift the lock others caused.
    assert (await flows.password_grant(api, user["email"], user["password"])
            ).status_code == 429
    assert state.audit.counts["device_token_issued"] >= 2


async def test_forged_expired_foreign_and_misused_device_tokens_do_not_get_past(
        api: Api, clock: Any, state: Any) -> None:
    victim, other = await flows.register(api), await flows.register(api)
    device = (await flows.login(api, victim))["device_token"]
    access = (await flows.login(api, victim))["access_token"]
    others = (await flows.login(api, other))["device_token"]
    head, body, sig = device.split(".")
    forged_sig = f"{head}.{body}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    claims = jose_jwt.get_unverified_claims(device)
    self_signed = jose_jwt.encode({**claims, "exp": int(time.time()) + 3600},
                                  "guessed-secret-guessed-secret-guessed", algorithm="HS256")
    expired = state.devices.codec.encode({**claims, "exp": int(time.time()) - 10})
    await lock_out(api, victim["email"], clock)
    for bad in (forged_sig, self_signed, expired, others, access, "junk", "x" * 5000):
        refused = await flows.password_grant(api, victim["email"], victim["password"],
                                             device_token=bad)
        assert refused.status_code == 429, (bad[:20], refused.text)
        assert refused.json()["error"] == "temporarily_locked"
    assert state.audit.counts["device_token_untrusted"] >= 7


async def test_a_device_tokens_own_failures_lock_only_that_device_token(
        api: Api, clock: Any, state: Any) -> None:
    user = await flows.register(api)
    device = (await flows.login(api, user))["device_token"]
    for _ in range(5):
        wrong = await flows.password_grant(api, user["email"], WRONG, device_token=device)
        assert wrong.status_code == 400
        clock.advance(120)
    # The username is untouched: the owner elsewhere signs in at once.
    assert await state.protector.get_remaining_attempts(lockout_key(user["email"])) == 5
    from authsvc.protection.bruteforce import Subject

    jti = state.devices.open(device, lockout_key(user["email"]))
    assert await state.protector.is_locked(Subject.device(jti))
    # A locked device token is an untrusted client: once others lock the username, it is out.
    await lock_out(api, user["email"], clock)
    refused = await flows.password_grant(api, user["email"], user["password"],
                                         device_token=device)
    assert refused.status_code == 429
    audit = await state_audit_types(state)
    assert "lockout" in audit


async def state_audit_types(state: Any) -> set[str]:
    from sqlalchemy import select

    from authsvc.audit.models import AuditEvent

    async with state.sessions() as session:
        rows = (await session.execute(select(AuditEvent.type, AuditEvent.details))).all()
    return {t for t, d in rows if t != "lockout" or (d or {}).get("device")}


async def test_the_mfa_grant_with_a_device_token_gets_past_a_lock(make_settings: Any,
                                                                  smtp_sink: Any) -> None:
    async with open_world(make_settings, smtp_sink) as world:
        api = world.api
        user = await flows.register(api)
        secret, _codes, _ = await enrol_totp(world, user)
        grant = await flows.password_grant(api, user["email"], user["password"])
        done = await mfa_grant(api, grant.json()["mfa_token"], "totp",
                               code_at(secret, world.clock.t))
        assert done.status_code == 200
        device = done.json()["device_token"]
        world.clock.advance(30)
        for _ in range(5):  # cooldown is 0 in this world
            await flows.password_grant(api, user["email"], WRONG)
        assert (await flows.password_grant(api, user["email"], user["password"])
                ).status_code == 429
        trusted = await flows.password_grant(api, user["email"], user["password"],
                                             device_token=device)
        assert trusted.status_code == 403 and trusted.json()["error"] == "mfa_required"
        finished = await mfa_grant(api, trusted.json()["mfa_token"], "totp",
                                   code_at(secret, world.clock.t))
        assert finished.status_code == 200, finished.text
        assert finished.json()["device_token"]


async def test_the_pages_keep_the_device_token_in_a_cookie(app: Any, api: Api,
                                                           clock: Any) -> None:
    user = await flows.register(api)
    async with infra.Api(app) as browser:
        signed = await login_page(browser, user["email"], user["password"])
        assert signed.status_code == 303
        cookie = signed.headers.get("set-cookie", "")
        assert "authsvc_device=" in cookie and "httponly" in cookie.lower()
        assert browser.http.cookies.get("authsvc_device")
        browser.http.cookies.delete("authsvc_session")
        await lock_out(api, user["email"], clock)
        async with infra.Api(app) as stranger:
            locked = await login_page(stranger, user["email"], user["password"])
            assert locked.status_code == 429
        again = await login_page(browser, user["email"], user["password"])
        assert again.status_code == 303, again.text
