"""Passkeys on the hosted pages, with the same `PasskeyService` and `MfaLogin` as the API:
"Sign in with a passkey" on `/login` (a button, and autofill through conditional mediation),
the passkey as a second factor on `/login/mfa`, and add / list / remove on `/account`.

The browser side is static/js/passkeys.js (no inline script). Its requests are urlencoded forms
carrying the CSRF token (header), answered with small JSON bodies: `{"options"}`,
`{"redirect"}`, or `{"error", "error_description"}`.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.deps import (
    CallerInfo,
    DbSession,
    Identity,
    Mfa,
    State,
    mfa_login,
    mfa_service,
    passkey_service,
    password_login,
    rate_limit,
)
from authsvc.errors import AuthError, InvalidGrant, TemporarilyLocked, render
from authsvc.identity.reauth import ReauthenticationRequired, require_recent_authentication
from authsvc.passkeys.service import InvalidCredential
from authsvc.responses import NO_STORE, json_response
from authsvc.web.account import load_user
from authsvc.web.account_mfa import ADD_NEEDS_MFA, changed, may_add_factor
from authsvc.web.deps import Browser, Member, PageForm, PreSessionCsrfChecked, SessionCsrfChecked
from authsvc.web.login_mfa import pending_of
from authsvc.web.pages import next_target, sign_in
from authsvc.web.render import redirect
from authsvc.web.route import PageRoute
from authsvc.web.step_up import step_up

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NOT_VERIFIED = "That passkey could not be used to sign in. Try again, or use your password."
ADD_FAILED = "The passkey could not be added. Try again."


def refused(status: int, description: str, code: str = "invalid_credential",
            headers: dict[str, str] | None = None) -> Response:
    """The ceremony script's JSON error: the API's error body (`errors.render`)."""
    return render(AuthError(description, code=code, status=status, headers=headers))


def locked(exc: TemporarilyLocked) -> Response:
    return refused(429, "Too many failed attempts. For your security, sign-in to this "
                   "account is paused.", exc.code, {"Retry-After": str(exc.retry_after)})


# ------------------------------------------------------------------------- login
@router.post("/login/passkey/options", dependencies=[
    rate_limit("login_page", "rate_limit_login_page"), PreSessionCsrfChecked])
async def login_options(state: State, db: DbSession, identity: Identity) -> Response:
    passkeys = passkey_service(state, password_login(state, identity))
    options, challenge = await passkeys.login_options(None)
    return json_response({"options": options, "challenge_id": challenge}, headers=NO_STORE)


@router.post("/login/passkey", dependencies=[
    rate_limit("login_page", "rate_limit_login_page"), PreSessionCsrfChecked])
async def login(state: State, browser: Browser, db: DbSession, identity: Identity,
                client: CallerInfo, form: PageForm) -> Response:
    """A passwordless sign-in: a new session (new id) with the passkey's `amr`."""
    try:
        passkeys = passkey_service(state, password_login(state, identity))
        done = await passkeys.sign_in(
            form.get("challenge_id", ""), form.get("credential", ""), client)
    except TemporarilyLocked as exc:
        return locked(exc)
    except InvalidCredential:
        return refused(400, NOT_VERIFIED)
    except AuthError as exc:
        return refused(exc.status, exc.description, exc.code)
    await sign_in(browser, state, done.user, client, done.amr)
    await state.audit.record("login_success", session=db, user_id=done.user.id,
                             client_ip=client.ip, method="passkey", channel="web")
    return json_response({"redirect": next_target(state, form.get("next"))}, headers=NO_STORE)


@router.post("/login/mfa/passkey/options", dependencies=[SessionCsrfChecked])
async def mfa_options(state: State, browser: Browser, db: DbSession, identity: Identity,
                      client: CallerInfo) -> Response:
    """Request options for the pending login's passkeys; the answer goes to POST /login/mfa
    with `method=webauthn` and the credential JSON as `code`."""
    pending = pending_of(browser)
    if pending is None:
        return refused(400, "Start again from the sign-in page.", "invalid_request")
    try:
        options = await mfa_login(state, mfa_service(state, identity)).passkey_options(
            pending["mfa_token"], client)
    except InvalidGrant:
        return json_response({"redirect": "/login?notice=mfa_expired"}, headers=NO_STORE)
    return json_response({"options": options}, headers=NO_STORE)


# ----------------------------------------------------------------------- account
@router.post("/account/passkeys/options")
async def add_options(member: Member, state: State, identity: Identity, db: DbSession,
                      mfa: Mfa, client: CallerInfo, form: PageForm) -> Response:
    """Creation options, once the session is recent enough to add a factor (else the page asks
    for the password: `current_password`)."""
    user = await load_user(identity, member)
    if not may_add_factor(state, member, user):
        return refused(403, ADD_NEEDS_MFA, "mfa_step_up_required")
    session = member.session
    try:
        await require_recent_authentication(
            state.settings, password_login(state, identity), user,
            auth_time=session.auth_time or 0.0, amr=list(session.amr),
            current_password=form.get("current_password"), client=client,
            now=state.session_store.clock())
    except ReauthenticationRequired as exc:
        return refused(403, "Enter your password to add a passkey." if not form.get(
            "current_password") else exc.description, exc.code)
    except TemporarilyLocked as exc:
        return locked(exc)
    passkeys = passkey_service(state, password_login(state, identity))
    options = await passkeys.registration_options(user)
    return json_response({"options": options}, headers=NO_STORE)


@router.post("/account/passkeys")
async def add(member: Member, state: State, identity: Identity, db: DbSession,
              client: CallerInfo, form: PageForm) -> Response:
    user = await load_user(identity, member)
    try:
        passkeys = passkey_service(state, password_login(state, identity))
        await passkeys.register(
            user, form.get("credential", ""), form.get("name"), client)
    except InvalidCredential:
        return refused(400, ADD_FAILED)
    await changed(member, user, "Passkey added. You can now sign in with it.")
    return json_response({"redirect": "/account"}, headers=NO_STORE)


@router.post("/account/passkeys/delete")
async def remove(member: Member, state: State, identity: Identity, db: DbSession, mfa: Mfa,
                 client: CallerInfo, form: PageForm) -> Response:
    """Needs a second factor when MFA is on (the page's step-up), else the password."""
    user = await load_user(identity, member)
    error = await step_up(state, mfa, member.browser, user, form, client)
    if error is None and not user.mfa_enabled:
        session = member.session
        try:
            await require_recent_authentication(
                state.settings, password_login(state, identity), user,
                auth_time=session.auth_time or 0.0, amr=list(session.amr),
                current_password=form.get("current_password"), client=client,
                now=state.session_store.clock())
        except (ReauthenticationRequired, TemporarilyLocked) as exc:
            error = exc.description
    if error is not None:
        member.session.flash(f"The passkey was not removed: {error}", "error")
        await member.browser.save()
        return redirect("/account#passkeys-title")
    try:
        passkeys = passkey_service(state, password_login(state, identity))
        await passkeys.remove(user, form.get("passkey_id", ""), client)
    except AuthError:
        member.session.flash("That passkey was already removed.", "error")
        await member.browser.save()
        return redirect("/account#passkeys-title")
    await changed(member, user, "Passkey removed.")
    return redirect("/account#passkeys-title")
