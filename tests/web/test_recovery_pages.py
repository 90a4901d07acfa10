"""The recovery pages: /forgot, /reset and /verify from the mailed links, and the account's
"send a new verification e-mail" button. The app mails a real SMTP server on loopback; links and
tokens are read from the mails it received."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from tests import flows, infra
from tests.mfa.helpers import World, bearer, code_at, enrol_totp, open_world
from tests.recovery.helpers import (
    CHANGED_SUBJECT,
    NEW_PASSWORD,
    PUBLIC_URL,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    forgot,
    mail,
    mails,
    reset_token_for,
    token_in,
)
from tests.smtp_server import SmtpSink
from tests.web.pages import account_csrf, csrf_of, login_page, register_page

NOTICE = "If an account exists for that address, we have sent it a link"
INVALID_LINK = "This password reset link is invalid, has expired or was already used."


@pytest_asyncio.fixture
async def world(make_settings: Any, smtp_sink: SmtpSink) -> AsyncIterator[World]:
    async with open_world(make_settings, smtp_sink, public_url=PUBLIC_URL) as opened:
        yield opened


def hidden(response: httpx.Response, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', response.text)
    return found.group(1) if found else None


def without_csrf(html: str) -> str:
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "", html)


async def forgot_page(api: infra.Api, email: str) -> httpx.Response:
    form = await api.get("/forgot")
    assert form.status_code == 200
    return await api.post("/forgot", data={"email": email, "csrf_token": csrf_of(form)})


async def reset_page(api: infra.Api, token: str, password: str = NEW_PASSWORD,
                     **extra: str) -> httpx.Response:
    form = await api.get("/reset", params={"token": token})
    assert form.status_code == 200, form.text
    assert hidden(form, "token") == token
    return await api.post("/reset", data={"token": token, "password": password,
                                          "csrf_token": csrf_of(form), **extra})


async def signs_in(api: infra.Api, email: str, password: str) -> bool:
    response = await flows.password_grant(api, email, password)
    assert response.status_code in (200, 400, 403), response.text
    return response.status_code == 200 or response.json().get("error") == "mfa_required"


async def email_verified(api: infra.Api, user: dict[str, Any], password: str) -> bool:
    tokens = await flows.login(api, {**user, "password": password})
    me = await api.get("/users/me", headers=bearer(tokens["access_token"]))
    return bool(me.json()["email_verified"])


async def settle() -> None:
    """Mails go out after the commit, in the background: give a wrong one the time to arrive."""
    await asyncio.sleep(0.3)


# ------------------------------------------------------------------------ forgot
async def test_forgot_shows_the_same_notice_for_known_and_unknown_addresses(world: World) -> None:
    user = await flows.register(world.api)
    known = await forgot_page(world.api, user["email"])
    unknown = await forgot_page(world.api, infra.unique_email("nobody"))
    assert known.status_code == unknown.status_code == 200
    assert NOTICE in known.text
    assert without_csrf(known.text) == without_csrf(unknown.text)
    await mail(world.sink, user["email"], RESET_SUBJECT)  # the real account got its link
    await settle()
    assert [m for m in world.sink.messages if "nobody-" in str(m["To"])] == []


async def test_forgot_page_and_api_share_the_per_address_limit(world: World) -> None:
    for _ in range(3):  # rate_limit_forgot is 5 a minute per client address
        assert (await forgot(world.api, infra.unique_email())).status_code == 202
    for _ in range(2):
        assert (await forgot_page(world.api, infra.unique_email())).status_code == 200
    refused = await forgot_page(world.api, infra.unique_email())
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many requests" in refused.text
    assert (await forgot(world.api, infra.unique_email())).status_code == 429
    async with infra.Api(world.app) as elsewhere:  # another address has its own budget
        assert (await forgot_page(elsewhere, infra.unique_email())).status_code == 200


# ------------------------------------------------------------------------- reset
async def test_reset_end_to_end_through_the_pages(world: World) -> None:
    user = await flows.register(world.api)
    old_refresh = (await flows.login(world.api, user))["refresh_token"]
    assert (await forgot_page(world.api, user["email"])).status_code == 200
    token = token_in(await mail(world.sink, user["email"], RESET_SUBJECT), "/reset")

    form = await world.api.get("/reset", params={"token": token})
    assert form.status_code == 200
    assert hidden(form, "token") == token
    assert 'name="password"' in form.text and 'name="code"' not in form.text

    weak = await world.api.post("/reset", data={"token": token, "password": "short",
                                                "csrf_token": csrf_of(form)})
    assert weak.status_code == 422
    assert re.search(r'<div class="alert alert-error unmet"', weak.text)  # a list inside (axe)
    assert "12" in weak.text  # the length rule, as a sentence
    assert hidden(weak, "token") == token  # a refused password leaves the link usable

    done = await world.api.post("/reset", data={"token": token, "password": NEW_PASSWORD,
                                                "csrf_token": csrf_of(weak)})
    assert done.status_code == 200, done.text
    assert "Your password was changed" in done.text and 'href="/login"' in done.text
    await mail(world.sink, user["email"], CHANGED_SUBJECT)

    assert not await signs_in(world.api, user["email"], user["password"])
    assert (await login_page(world.api, user["email"], user["password"])).status_code == 400
    signed_in = await login_page(world.api, user["email"], NEW_PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
    assert (await flows.refresh(world.api, old_refresh)).status_code == 400  # family ended

    again = await reset_page(world.api, token, "Third-Secret-99x")  # the same link again
    assert again.status_code == 400 and INVALID_LINK in again.text
    unknown = await reset_page(world.api, "A" * 43)
    assert unknown.status_code == 400 and INVALID_LINK in unknown.text
    assert await signs_in(world.api, user["email"], NEW_PASSWORD)


async def test_reset_link_without_a_token_explains_itself(world: World) -> None:
    response = await world.api.get("/reset")
    assert response.status_code == 400
    assert "incomplete" in response.text and 'href="/forgot"' in response.text


async def test_reset_ends_this_browsers_session(world: World) -> None:
    user = await register_page(world.api)
    assert (await world.api.get("/account")).status_code == 200
    token = await reset_token_for(world.api, world.sink, user["email"])
    assert (await reset_page(world.api, token)).status_code == 200
    assert world.api.http.cookies.get("authsvc_session") is None
    assert (await world.api.get("/account")).status_code == 303


async def test_an_mfa_users_reset_asks_for_the_code(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, _ = await enrol_totp(world, user)
    assert (await forgot_page(world.api, user["email"])).status_code == 200
    token = token_in(await mail(world.sink, user["email"], RESET_SUBJECT), "/reset")

    asked = await reset_page(world.api, token)
    assert asked.status_code == 400
    assert "two-step verification" in asked.text
    radios = re.findall(r'type="radio" name="method" id="[^"]+" value="([^"]+)"', asked.text)
    assert radios == ["totp", "recovery_code"]
    assert 'name="code"' in asked.text
    assert hidden(asked, "token") == token

    wrong = await world.api.post("/reset", data={
        "token": token, "password": NEW_PASSWORD, "method": "totp", "code": "000000",
        "mfa_methods": hidden(asked, "mfa_methods") or "", "csrf_token": csrf_of(asked)})
    assert wrong.status_code == 400 and "code is not valid" in wrong.text
    assert re.findall(r'name="method" id="[^"]+" value="([^"]+)"', wrong.text) == radios
    assert await signs_in(world.api, user["email"], user["password"])  # nothing changed

    done = await world.api.post("/reset", data={
        "token": token, "password": NEW_PASSWORD, "method": "totp",
        "code": code_at(secret, world.clock.t), "csrf_token": csrf_of(wrong)})
    assert done.status_code == 200, done.text
    assert "Your password was changed" in done.text
    assert not await signs_in(world.api, user["email"], user["password"])
    assert (await flows.password_grant(world.api, user["email"], NEW_PASSWORD)).json()[
        "error"] == "mfa_required"  # the new password is right; MFA still stands


# -------------------------------------------------------------------------- CSRF
async def test_csrf_refusals_change_nothing(world: World) -> None:
    user = await flows.register(world.api)
    verify_token = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT), "/verify")
    reset_token = await reset_token_for(world.api, world.sink, user["email"])
    form = await world.api.get("/forgot")
    async with infra.Api(world.app) as other:  # a valid pair, but of another browser
        foreign = csrf_of(await other.get("/forgot"))

    for token in (None, "forged", foreign):
        extra = {"csrf_token": token} if token else {}
        forgot_refused = await world.api.post("/forgot", data={"email": user["email"], **extra})
        reset_refused = await world.api.post("/reset", data={
            "token": reset_token, "password": NEW_PASSWORD, **extra})
        verify_refused = await world.api.post("/verify", data={"token": verify_token, **extra})
        for refused in (forgot_refused, reset_refused, verify_refused):
            assert refused.status_code == 403, refused.text
            assert "nothing was changed" in refused.text
    async with infra.Api(world.app) as no_cookie:  # the form's token without its cookie
        assert (await no_cookie.post("/forgot", data={
            "email": user["email"], "csrf_token": csrf_of(form)})).status_code == 403

    await settle()
    assert len(mails(world.sink, user["email"], RESET_SUBJECT)) == 1  # no new link was sent
    assert await signs_in(world.api, user["email"], user["password"])
    assert not await email_verified(world.api, user, user["password"])
    # Both links still work: a refused /forgot did not void the reset link either.
    assert (await verify_page(world.api, verify_token)).status_code == 200
    assert (await reset_page(world.api, reset_token)).status_code == 200
    assert await signs_in(world.api, user["email"], NEW_PASSWORD)
    assert await email_verified(world.api, user, NEW_PASSWORD)


# ------------------------------------------------------------------------ verify
async def verify_page(api: infra.Api, token: str) -> httpx.Response:
    form = await api.get("/verify", params={"token": token})
    assert form.status_code == 200
    return await api.post("/verify", data={"token": token, "csrf_token": csrf_of(form)})


async def test_verify_page_get_changes_nothing_and_post_verifies(world: World) -> None:
    user = await flows.register(world.api)
    token = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT), "/verify")
    for _ in range(2):  # a mail scanner following the link, then the user
        shown = await world.api.get("/verify", params={"token": token})
        assert shown.status_code == 200
        assert hidden(shown, "token") == token and 'action="/verify"' in shown.text
        assert "is verified" not in shown.text
    assert not await email_verified(world.api, user, user["password"])

    done = await world.api.post("/verify", data={"token": token, "csrf_token": csrf_of(shown)})
    assert done.status_code == 200 and "your e-mail address is verified" in done.text
    assert await email_verified(world.api, user, user["password"])

    again = await world.api.post("/verify", data={"token": token, "csrf_token": csrf_of(shown)})
    assert again.status_code == 400 and "expired or was already used" in again.text
    assert 'action="/verify"' not in again.text
    assert (await world.api.get("/verify")).status_code == 400


# ----------------------------------------------------------- account: resend button
async def test_account_resend_button_sends_a_new_verification_mail(world: World) -> None:
    user = await register_page(world.api)
    # /register mails a verification link, as POST /users does.
    first = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT), "/verify")
    account = await world.api.get("/account")
    assert 'action="/account/verify-email/resend"' in account.text

    refused = await world.api.post("/account/verify-email/resend", data={})
    assert refused.status_code == 403
    sent = await world.api.post("/account/verify-email/resend",
                                data={"csrf_token": await account_csrf(world.api)})
    assert sent.status_code == 303 and sent.headers["location"] == "/account"
    second = token_in(await mail(world.sink, user["email"], VERIFY_SUBJECT, 2), "/verify")
    assert second != first
    assert "A new verification e-mail is on its way" in (await world.api.get("/account")).text

    soon = await world.api.post("/account/verify-email/resend",
                                data={"csrf_token": await account_csrf(world.api)})
    assert soon.status_code == 303
    assert "You can ask for another in" in (await world.api.get("/account")).text
    await settle()
    assert len(mails(world.sink, user["email"], VERIFY_SUBJECT)) == 2  # 1 a minute

    assert (await verify_page(world.api, first)).status_code == 400  # the older link is void
    assert (await verify_page(world.api, second)).status_code == 200
    account = await world.api.get("/account")
    assert "badge-ok\">verified" in account.text
    assert 'action="/account/verify-email/resend"' not in account.text
