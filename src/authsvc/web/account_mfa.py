"""The account page's two-step verification forms, calling the same `Enrolment` and
`MfaService` as the `/mfa/*` API: TOTP set-up (QR code inline, the secret as text), confirm,
turn off; e-mail codes; new recovery codes (shown once).

Adding a factor needs a recent sign-in or the current password (identity/reauth.py), and to an
account that has one a recent second factor, as in the API;
turning one off or making new recovery codes needs a code on the form (step-up).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from authsvc.caller import Caller
from authsvc.composition import Components
from authsvc.deps import CallerInfo, Identity, Mfa, State, password_login
from authsvc.errors import AuthError, InvalidCode, TemporarilyLocked
from authsvc.identity.models import User
from authsvc.identity.reauth import (
    ReauthenticationRequired,
    is_recent,
    require_recent_authentication,
)
from authsvc.mfa.enrolment import Enrolment
from authsvc.mfa.service import MfaService
from authsvc.web.account import account_page, load_user
from authsvc.web.deps import Member, PageForm, SignedIn
from authsvc.web.i18n import N_
from authsvc.web.render import redirect
from authsvc.web.route import PageRoute
from authsvc.web.step_up import has_recent_mfa, step_up
from authsvc.web.templating import format_duration

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ADD_NEEDS_MFA = N_(
    "Adding another factor needs a recent second factor: sign out, sign in again with your "
    "code, then add it within a few minutes.")
WRONG_CODE = N_("That code is not valid. Check it and try again.")


async def changed(member: SignedIn, user: User, flash: str | None = None) -> None:
    """A factor changed: the session follows the user's version under a new id."""
    session = member.session
    session.user_version = int(user.version)
    if flash:
        session.flash(flash)
    await member.browser.rotate(session)


REAUTH_NEEDED = "To add a factor, confirm it is you: enter your current password."


def may_add_factor(state: Components, member: SignedIn, user: User) -> bool:
    return not user.mfa_enabled or has_recent_mfa(state, member.session)


async def reauthenticated(state: Components, identity: Any, member: SignedIn, user: User,
                          form: dict[str, str], client: Caller) -> str | None:
    """The API's `RecentAuth` on the pages: None when the sign-in is recent or the form's
    current password is right (counted as a login attempt), else the message that says why."""
    session, clock = member.session, state.session_store.clock
    if is_recent(state.settings, session.auth_time or 0.0, list(session.amr), clock()):
        return None
    password = form.get("current_password", "")
    if not password:
        return REAUTH_NEEDED
    try:
        await require_recent_authentication(
            state.settings, password_login(state, identity), user,
            auth_time=session.auth_time or 0.0, amr=list(session.amr),
            current_password=password, client=client, now=clock())
    except ReauthenticationRequired:
        return "Your current password is not right. Nothing was changed."
    except TemporarilyLocked as exc:
        return f"Too many failed attempts. Try again in {format_duration(exc.retry_after)}."
    session.auth_time = clock()  # re-authenticated: a new id, as for any privilege change
    await member.browser.rotate(session)
    return None


async def refuse(state: Components, mfa: MfaService, member: SignedIn, user: User, status: int,
                 error: str, **extra: Any) -> Response:
    return await account_page(state, mfa, member, user, status=status, error=error, **extra)


# ------------------------------------------------------------------------- TOTP
@router.post("/account/totp/setup")
async def totp_setup(member: Member, state: State, identity: Identity, mfa: Mfa,
                     client: CallerInfo, form: PageForm) -> Response:
    user = await load_user(identity, member)
    if not may_add_factor(state, member, user):
        return await refuse(state, mfa, member, user, 403, ADD_NEEDS_MFA)
    refused = await reauthenticated(state, identity, member, user, form, client)
    if refused:
        return await refuse(state, mfa, member, user, 403, refused, reauth_needed=True)
    try:
        await Enrolment(mfa).totp_setup(user)
    except AuthError as exc:
        return await refuse(state, mfa, member, user, exc.status, exc.description)
    return redirect("/account#mfa-title")  # the page shows the pending set-up


@router.post("/account/totp/confirm")
async def totp_confirm(member: Member, state: State, identity: Identity, mfa: Mfa,
                       form: PageForm) -> Response:
    user = await load_user(identity, member)
    if not may_add_factor(state, member, user):
        return await refuse(state, mfa, member, user, 403, ADD_NEEDS_MFA)
    code = form.get("code", "").replace(" ", "")
    try:
        codes = await Enrolment(mfa).totp_confirm(user, code)
    except InvalidCode:
        return await refuse(state, mfa, member, user, 400, WRONG_CODE)
    except AuthError as exc:
        return await refuse(state, mfa, member, user, exc.status, exc.description)
    member.session.shown_codes = list(codes)
    await changed(member, user, "Authenticator app turned on.")
    return redirect("/account#codes-title")  # PRG: a reload never re-posts the form


@router.post("/account/totp/disable")
async def totp_disable(member: Member, state: State, identity: Identity, mfa: Mfa,
                       client: CallerInfo, form: PageForm) -> Response:
    user = await load_user(identity, member)
    refused = await step_up(state, mfa, member.browser, user, form, client)
    if refused:
        return await refuse(state, mfa, member, user, 403, refused)
    await Enrolment(mfa).totp_disable(user)
    await changed(member, user, "Authenticator app turned off.")
    return redirect("/account")


# ----------------------------------------------------------------------- e-mail
@router.post("/account/email-mfa/enable")
async def email_enable(member: Member, state: State, identity: Identity, mfa: Mfa,
                       client: CallerInfo, form: PageForm) -> Response:
    user = await load_user(identity, member)
    if not may_add_factor(state, member, user):
        return await refuse(state, mfa, member, user, 403, ADD_NEEDS_MFA)
    refused = await reauthenticated(state, identity, member, user, form, client)
    if refused:
        return await refuse(state, mfa, member, user, 403, refused, reauth_needed=True)
    try:
        await Enrolment(mfa).email_enable(user)
    except AuthError as exc:
        return await refuse(state, mfa, member, user, exc.status, exc.description,
                            email_mfa_pending=exc.status == 429)
    return await account_page(state, mfa, member, user, email_mfa_pending=True,
                              notice=f"We sent a code to {user.email}.")


@router.post("/account/email-mfa/confirm")
async def email_confirm(member: Member, state: State, identity: Identity, mfa: Mfa,
                        form: PageForm) -> Response:
    user = await load_user(identity, member)
    if not may_add_factor(state, member, user):
        return await refuse(state, mfa, member, user, 403, ADD_NEEDS_MFA)
    try:
        await Enrolment(mfa).email_confirm(user, form.get("code", "").strip())
    except InvalidCode:
        return await refuse(state, mfa, member, user, 400, WRONG_CODE, email_mfa_pending=True)
    except AuthError as exc:
        return await refuse(state, mfa, member, user, exc.status, exc.description)
    await changed(member, user, "Codes by e-mail turned on.")
    return redirect("/account")


# --------------------------------------------------------------- recovery codes
@router.post("/account/recovery-codes")
async def recovery_codes(member: Member, state: State, identity: Identity, mfa: Mfa,
                         client: CallerInfo, form: PageForm) -> Response:
    user = await load_user(identity, member)
    refused = await step_up(state, mfa, member.browser, user, form, client)
    if refused:
        return await refuse(state, mfa, member, user, 403, refused)
    try:
        codes = await Enrolment(mfa).regenerate_recovery_codes(user)
    except AuthError as exc:
        return await refuse(state, mfa, member, user, exc.status, exc.description)
    member.session.shown_codes = list(codes)
    member.session.flash("New recovery codes made; the old ones no longer work.")
    await member.browser.save()
    return redirect("/account#codes-title")  # PRG: a reload never re-posts the form
