"""The pages in real Chromium: add a passkey on /account, sign in with it from /login (no
password), and use it as the second factor on /login/mfa. No inline script, no CSP errors."""

from __future__ import annotations

import re
from typing import Any

import pyotp

from tests.infra import STRONG_PASSWORD
from tests.passkeys.conftest import Device, open_device
from tests.passkeys.helpers import api, bearer, new_user


async def password_sign_in(page: Any, server: str, email: str) -> None:
    await page.goto(f"{server}/login")
    await page.fill("#username", email)
    await page.fill("#password", STRONG_PASSWORD)
    await page.click("form[action='/login'] button[type=submit]")


async def test_add_a_passkey_then_sign_in_with_it(server: str, device: Device) -> None:
    page = device.page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    async with api(server) as client:
        user = await new_user(client)
    await page.goto(f"{server}/login")
    assert await page.get_attribute("#username", "autocomplete") == "username webauthn"
    await password_sign_in(page, server, user["email"])
    await page.wait_for_url(f"{server}/account")
    await page.fill("#passkey-name", "Work laptop")
    await page.click("[data-passkey-create]")
    await page.wait_for_selector("#passkey-list >> text=Work laptop")
    assert len(await device.authenticator.credentials()) == 1

    # Signed out, /login asks for a passkey with conditional mediation (autofill): the
    # virtual authenticator answers it at once, and the page signs in without a password.
    await page.click("header button:has-text('Log out')")
    await page.wait_for_url(f"{server}/account")
    verify = await page.request.get(f"{server}/auth/verify")
    assert verify.status == 200 and verify.headers["x-auth-user-email"] == user["email"]
    assert not [e for e in errors if "Content Security Policy" in e], errors


async def test_passkey_as_second_factor_on_the_mfa_page(server: str, chromium: Any) -> None:
    device = await open_device(chromium, server, user_verification=False)
    try:
        await passkey_as_second_factor(server, device)
    finally:
        await device.context.close()


async def passkey_as_second_factor(server: str, device: Device) -> None:
    page = device.page
    async with api(server) as client:
        user = await new_user(client)
        access = user["access"]
        setup = (await client.post("/mfa/totp/setup", headers=bearer(access))).json()
        confirm = await client.post("/mfa/totp/confirm", headers=bearer(access),
                                    json={"code": pyotp.TOTP(setup["secret"]).now()})
        assert confirm.status_code == 200, confirm.text
    # MFA on: the page needs a recent second factor to add a passkey; sign in with TOTP.
    await password_sign_in(page, server, user["email"])
    await page.wait_for_url(f"{server}/login/mfa")
    assert await page.locator("[data-passkey-verify]").count() == 0  # no passkey yet
    await page.fill("#login-code", confirm.json()["recovery_codes"][0])
    await page.check("#login-method-recovery_code")
    await page.click("form[action='/login/mfa'] button[type=submit]")
    await page.wait_for_url(f"{server}/account")
    await page.click("[data-passkey-create]")
    await page.wait_for_selector("#passkey-list >> text=Passkey")

    # A passkey without user verification is one factor: after the password, it completes
    # the sign-in as the second.
    await page.click("header button:has-text('Log out')")
    await page.wait_for_url(re.compile(r".*/login.*"))
    await password_sign_in(page, server, user["email"])
    await page.wait_for_url(f"{server}/login/mfa")
    await page.click("[data-passkey-verify]")
    await page.wait_for_url(f"{server}/account")
    async with api(server) as client:
        me = await client.get("/users/me", headers=bearer(access))
        assert me.json()["mfa"]["passkeys"] == 1
