"""Issue 12 item 2: a password change is no password oracle. Wrong `current_password`s count in
the username's lockout and under a per-account limit; past the limit even the right current
password gets 429 `temporarily_locked` with Retry-After, and nothing changes. API and page."""

from __future__ import annotations

from typing import Any

from tests import flows, infra
from tests.infra import Api
from tests.mfa.helpers import bearer
from tests.web.pages import account_csrf, register_page

NEW = "Brand-New-Secret-123"


async def change(api: Api, access: str, current: str, **extra: str) -> Any:
    return await api.post("/users/me/password", headers=bearer(access),
                          json={"current_password": current, "new_password": NEW, **extra})


async def test_wrong_current_passwords_lock_the_change_and_the_login(api: Api,
                                                                     clock: Any) -> None:
    user = await flows.register(api)
    access = (await flows.login(api, user))["access_token"]
    for _ in range(5):
        wrong = await change(api, access, "Not-The-Password-1")
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_password"
        clock.advance(120)
    right = await change(api, access, user["password"])
    assert right.status_code == 429, right.text
    assert right.json()["error"] == "temporarily_locked" and int(right.headers["retry-after"]) > 0
    # The same count as logins: the username is locked for the password grant too.
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 429
    clock.advance(901)
    assert (await flows.password_grant(api, user["email"], user["password"])).status_code == 200
    assert (await flows.password_grant(api, user["email"], NEW)).status_code == 400  # unchanged


async def test_the_per_account_limit_holds_whatever_the_device(api: Api, clock: Any,
                                                               state: Any) -> None:
    """A thief with the access token and the device token: the device's failures do not lock
    the username, but the account's own limit stops the oracle after five."""
    user = await flows.register(api)
    first = await flows.login(api, user)
    access, device = first["access_token"], first["device_token"]
    for _ in range(5):
        wrong = await change(api, access, "Not-The-Password-1", device_token=device)
        assert wrong.status_code == 400
        clock.advance(120)
    right = await change(api, access, user["password"], device_token=device)
    assert right.status_code == 429 and right.json()["error"] == "temporarily_locked"
    async with infra.Api(api.http._transport.app) as elsewhere:  # the owner, elsewhere
        assert (await flows.password_grant(elsewhere, user["email"], user["password"])
                ).status_code == 200


async def test_the_account_page_counts_wrong_current_passwords(api: Api, clock: Any) -> None:
    user = await register_page(api)
    for _ in range(5):
        wrong = await api.post("/account/password", data={
            "current_password": "Not-The-Password-1", "new_password": NEW,
            "csrf_token": await account_csrf(api)})
        assert wrong.status_code == 400
        clock.advance(120)
    right = await api.post("/account/password", data={
        "current_password": user["password"], "new_password": NEW,
        "csrf_token": await account_csrf(api)})
    assert right.status_code == 429 and "Too many failed attempts" in right.text
    assert int(right.headers["retry-after"]) > 0
    clock.advance(901)
    assert (await flows.password_grant(api, user["email"], NEW)).status_code == 400


async def test_a_right_current_password_does_not_clear_failures(api: Api, clock: Any,
                                                               state: Any) -> None:
    user = await flows.register(api)
    access = (await flows.login(api, user))["access_token"]
    for _ in range(2):
        await flows.password_grant(api, user["email"], "Wrong-password-1!")
        clock.advance(120)
    assert (await change(api, access, user["password"])).status_code == 204
    assert await state.protector.get_remaining_attempts(user["email"]) == 3
