"""Issue 12 item 9: adding a factor needs a recent authentication (ASVS 5.0 §7.5.1): the token's
`auth_time` within AUTHSVC_REAUTH_WINDOW, a recent step-up, or `current_password` in the body
(counted like a login attempt); else 403 `reauthentication_required`. API and pages."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests import flows
from tests.mfa.helpers import World, bearer, code_at, enrol_totp, mfa_grant, mfa_token_for

LATER = 400  # seconds: past the 300-second window, inside the access token's 900


class Later:
    """The API's view of now (authsvc.deps.time), LATER seconds ahead."""

    @staticmethod
    def time() -> float:
        return time.time() + LATER


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("authsvc.deps.time", Later, raising=False)
    return Later


@pytest.mark.parametrize("path", ["/mfa/totp/setup", "/mfa/email/enable"])
async def test_an_old_sign_in_must_confirm_the_password(world: World, later: Any,
                                                        path: str) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    refused = await world.api.post(path, headers=bearer(access))
    assert refused.status_code == 403 and refused.json()["error"] == "reauthentication_required"
    wrong = await world.api.post(path, headers=bearer(access),
                                 json={"current_password": "Not-The-Password-1"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "reauthentication_required"
    assert await world.state.protector.get_remaining_attempts(user["email"]) == 4
    junk = await world.api.post(path, headers={**bearer(access),
                                               "Content-Type": "application/json"},
                                content=b"{not json")
    assert junk.status_code == 422
    done = await world.api.post(path, headers=bearer(access),
                                json={"current_password": user["password"]})
    assert done.status_code == 200, done.text


async def test_current_passwords_lock_like_logins(world: World, later: Any) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    for _ in range(5):
        await world.api.post("/mfa/totp/setup", headers=bearer(access),
                             json={"current_password": "Not-The-Password-1"})
    locked = await world.api.post("/mfa/totp/setup", headers=bearer(access),
                                  json={"current_password": user["password"]})
    assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"


async def test_a_fresh_sign_in_or_a_recent_step_up_is_enough(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)  # a fresh sign-in: no password asked
    signed = await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp",
                             code_at(secret, world.clock.t))
    access = signed.json()["access_token"]
    sent = await world.api.post("/mfa/email/enable", headers=bearer(access))
    assert sent.status_code == 200, sent.text


async def test_a_recent_step_up_counts_after_the_reauth_window(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    signed = await mfa_grant(world.api, await mfa_token_for(world.api, user), "totp",
                             code_at(secret, world.clock.t))
    monkeypatch.setattr("authsvc.deps.time", Later, raising=False)
    # 400 s later: outside the 300-second window, but an MFA sign-in within the 600 s step-up one.
    sent = await world.api.post("/mfa/email/enable",
                                headers=bearer(signed.json()["access_token"]))
    assert sent.status_code == 200, sent.text
