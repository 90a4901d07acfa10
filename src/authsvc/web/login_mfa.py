"""`/login/mfa`: the second step of a sign-in, with the same `MfaLogin` as the MFA grant.

After the password, the browser holds a *pending* session (no user yet) with the mfa_token;
completing the factor starts a new session under a new id (the pending id dies).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.caller import Caller
from authsvc.composition import Components
from authsvc.deps import (
    CallerInfo,
    DbSession,
    Identity,
    State,
    mfa_login,
    mfa_service,
    password_login,
    rate_limit,
)
from authsvc.errors import InvalidGrant, TemporarilyLocked, TooManyRequests
from authsvc.identity.models import User
from authsvc.mfa.login import TOKEN_INVALID
from authsvc.web.browser import BrowserSession
from authsvc.web.deps import PASSWORD_RENEWAL, Browser, PageForm, SessionCsrfChecked
from authsvc.web.device_cookie import remember_device
from authsvc.web.i18n import N_
from authsvc.web.render import page, redirect
from authsvc.web.route import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CODE_INVALID = N_("That code is not valid. Check it and try again.")


async def start_second_factor(state: Components, db: Any, identity: Any, browser: BrowserSession,
                              user: User, client: Caller, target: str) -> Response:
    """The password was right: keep the challenge in a pending session (new id) and ask."""
    challenge = await mfa_login(state, mfa_service(state, identity)).start(user, client)
    await browser.start(mfa_pending={"mfa_token": challenge.mfa_token,
                                     "methods": challenge.methods, "next": target,
                                     "email_sent": False})
    return redirect("/login/mfa")


def pending_of(browser: BrowserSession) -> dict[str, Any] | None:
    session = browser.session
    return session.mfa_pending if session is not None and not browser.signed_in else None


def mfa_page(browser: BrowserSession, pending: dict[str, Any], *, status: int = 200,
             headers: dict[str, str] | None = None, **context: Any) -> Response:
    assert browser.session is not None
    methods = pending["methods"]
    # A passkey answers with the browser's credential, not a typed code (_passkey_mfa.html).
    return page("login_mfa.html", status=status, headers=headers,
                csrf_token=browser.session.csrf_token,
                methods=[m for m in methods if m != "webauthn"], passkey="webauthn" in methods,
                email_code_sent=pending.get("email_sent", False), **context)


async def start_over(browser: BrowserSession) -> Response:
    await browser.end()
    return redirect("/login?notice=mfa_expired")


@router.get("/login/mfa")
async def mfa_form(browser: Browser) -> Response:
    pending = pending_of(browser)
    if pending is None:
        return redirect("/account" if browser.signed_in else "/login")
    return mfa_page(browser, pending)


# The same per-address budget as the MFA grant at /token: one budget, whichever door is used.
@router.post("/login/mfa", dependencies=[rate_limit("token", "rate_limit_token"),
                                         SessionCsrfChecked])
async def mfa_complete(state: State, browser: Browser, identity: Identity, db: DbSession,
                       client: CallerInfo, form: PageForm) -> Response:
    pending = pending_of(browser)
    if pending is None:
        return redirect("/login")
    method, code = form.get("method", ""), form.get("code", "").strip()
    logins = mfa_login(state, mfa_service(state, identity))
    try:
        done = await logins.complete(pending["mfa_token"], method, code, client)
    except TemporarilyLocked as exc:
        return mfa_page(browser, pending, status=429, retry_after=exc.retry_after,
                        headers={"Retry-After": str(exc.retry_after)}, method=method)
    except InvalidGrant as exc:
        if exc.description == TOKEN_INVALID:  # expired, spent, or void after wrong codes
            return await start_over(browser)
        return mfa_page(browser, pending, status=400, error=CODE_INVALID, method=method,
                        invalid=["code"])
    await browser.start(
        user_id=str(done.user.id), user_version=int(done.user.version or 1),
        auth_time=state.session_store.clock(), amr=["pwd", *done.amr],
        user_agent=(client.user_agent or "")[:200], ip=client.ip or "",
    )
    await state.audit.record("login_success", session=db, user_id=done.user.id,
                             client_ip=client.ip, method=method, channel="web")
    # found breached: a new password first
    target = PASSWORD_RENEWAL if done.user.password_reset_required else (
        pending.get("next") or "/account")
    return await remember_device(password_login(state, identity), redirect(target), done.user,
                                 client, secure=state.settings.secure_cookies)


@router.post("/login/mfa/send", dependencies=[
    rate_limit("mfa_challenge", "rate_limit_mfa_challenge"), SessionCsrfChecked])
async def mfa_send(state: State, browser: Browser, identity: Identity, db: DbSession,
                   client: CallerInfo) -> Response:
    """Mail a login code (the same sending rules as `POST /mfa/challenge`)."""
    pending = pending_of(browser)
    if pending is None:
        return redirect("/login")
    try:
        await mfa_login(state, mfa_service(state, identity)).send_email_code(pending["mfa_token"],
                                                                        client)
    except InvalidGrant:
        return await start_over(browser)
    except TooManyRequests as exc:
        return mfa_page(browser, pending, status=429, retry_after=exc.retry_after,
                        headers={"Retry-After": str(exc.retry_after)}, method="email")
    assert browser.session is not None
    pending["email_sent"] = True
    await browser.save()
    return redirect("/login/mfa")
