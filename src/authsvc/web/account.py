"""The account page and its forms: password change, sessions, sign-out everywhere.

Every POST here needs a signed-in session and its CSRF token (`Member`); nothing changes on GET.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from markupsafe import Markup
from starlette.responses import Response

from authsvc.deps import CallerInfo, DbSession, Identity, State
from authsvc.errors import AuthError, Conflict, TemporarilyLocked, TooManyRequests, WeakPassword
from authsvc.identity.account import WrongCurrentPassword, end_other_sessions
from authsvc.identity.account import change_password as change_password_everywhere
from authsvc.identity.models import User
from authsvc.identity.reauth import is_recent
from authsvc.mfa.enrolment import Enrolment
from authsvc.mfa.service import MfaService
from authsvc.oidc.apps import apps_of, revoke_app
from authsvc.recovery.deps import Recovery
from authsvc.state import AppState
from authsvc.web.deps import Member, PageForm, SignedIn, SignedInUser
from authsvc.web.render import page, redirect
from authsvc.web.route import LoginRequired, PageRoute
from authsvc.web.step_up import step_up
from authsvc.web.templating import format_duration

router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def load_user(identity: Any, signed: SignedIn) -> User:
    user = await identity.get(signed.user_id)
    if user is None or not user.is_active:
        await signed.browser.end()
        raise LoginRequired()
    return user


def get_mfa(state: State, db: DbSession, identity: Identity) -> MfaService:
    return MfaService(db, state, identity)


Mfa = Annotated[MfaService, Depends(get_mfa)]


async def mfa_summary(mfa: MfaService, user: User) -> dict[str, Any]:
    return {"totp": bool(user.totp_enabled), "email": bool(user.email_mfa_enabled),
            "recovery_codes_left": await mfa.recovery_codes_left(user)}


async def totp_setup_of(mfa: MfaService, user: User) -> dict[str, Any] | None:
    setup = await Enrolment(mfa).pending_setup(user)
    if setup is None:
        return None
    # The SVG is made here by segno from our own otpauth URI: markup we trust, marked safe.
    return {"secret": setup.secret, "otpauth_uri": setup.otpauth_uri,
            "qr_svg": Markup(setup.qr_svg)}  # noqa: S704


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
            ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))


def device_name(user_agent: str) -> str:
    """"Chrome on Linux" from a User-Agent, or the raw text (shortened) when unknown."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return user_agent[:60]


async def sessions_of(state: AppState, signed: SignedIn) -> list[dict[str, Any]]:
    store = state.session_store
    current = store.handle(signed.browser.sid) if signed.browser.sid else ""
    return [
        {"handle": handle, "user_agent": device_name(s.user_agent), "ip": s.ip,
         "created_at": s.created_at,
         "last_seen": s.last_seen, "current": handle == current}
        for handle, s in await store.list_for_user(signed.user_id)
    ]


async def passkeys_context(state: AppState, mfa: MfaService, signed: SignedIn) -> dict[str, Any]:
    """The passkey list of `/account` (_passkeys.html), and whether adding one needs the
    password again (a session older than the re-authentication window)."""
    if state.passkeys is None:
        return {"passkeys_on": False, "passkeys": []}
    from authsvc.identity.reauth import is_recent
    from authsvc.passkeys.repository import PasskeyRepository

    session = signed.session
    listed = await PasskeyRepository(mfa.session).of_user(uuid.UUID(signed.user_id))
    return {"passkeys_on": True, "passkeys": listed, "passkey_needs_password": not is_recent(
        state, session.auth_time or 0.0, list(session.amr), state.session_store.clock())}


async def account_page(state: AppState, mfa: MfaService, signed: SignedIn, user: User, *,
                       status: int = 200, headers: dict[str, str] | None = None,
                       **extra: Any) -> Response:
    flashes = signed.session.pop_flashes()
    codes, signed.session.shown_codes = signed.session.shown_codes, []
    if flashes or codes:
        await signed.browser.save()
    context: dict[str, Any] = {
        "csrf_token": signed.csrf_token,
        "user": {"id": str(user.id), "email": user.email, "display_name": user.display_name,
                 "email_verified": user.email_verified},
        "mfa": await mfa_summary(mfa, user),
        "password_policy": state.validator.describe(),
        "sessions": await sessions_of(state, signed),
        "flashes": flashes,
        "totp_setup": await totp_setup_of(mfa, user),
        "recovery_codes": codes or None,
        "email_mfa_pending": False,
        "can_resend_verification": True,
        "apps": await apps_of(state, mfa.session, signed.user_id),
        "password_reset_required": bool(user.password_reset_required),
        **await passkeys_context(state, mfa, signed),
        # Adding a factor asks for the password unless the sign-in is recent (identity/reauth).
        "reauth_needed": not is_recent(state, signed.session.auth_time or 0.0,
                                       list(signed.session.amr), state.session_store.clock()),
    }
    context.update(extra)
    return page("account.html", status=status, headers=headers, **context)


@router.get("/account")
async def account(signed: SignedInUser, state: State, identity: Identity,
                  mfa: Mfa) -> Response:
    user = await load_user(identity, signed)
    return await account_page(state, mfa, signed, user)


@router.post("/account/password")
async def change_password(member: Member, state: State, identity: Identity, db: DbSession,
                          mfa: Mfa, client: CallerInfo, form: PageForm) -> Response:
    """Needs the current password (and a second factor when MFA is on); ends every other
    session and refresh family of the user, and moves this session to a new id."""
    user = await load_user(identity, member)
    current, new = form.get("current_password", ""), form.get("new_password", "")
    if not current or not new:
        return await account_page(state, mfa, member, user, status=400,
                                  error="Enter your current password and a new one.",
                                  invalid=[n for n in ("current_password", "new_password")
                                           if not form.get(n)])
    refused = await step_up(state, mfa, member.browser, user, form, client)
    if refused is not None:
        return await account_page(state, mfa, member, user, status=403, error=refused)
    try:
        await change_password_everywhere(
            state, identity, db, user, current, new, client, keep_browser=member.browser.sid,
            client_ip=client.ip, channel="web",
        )
    except WrongCurrentPassword:
        return await account_page(state, mfa, member, user, status=400,
                                  error="Your current password is not right.",
                                  invalid=["current_password"])
    except TemporarilyLocked as exc:
        return await account_page(state, mfa, member, user, status=429,
                                  headers={"Retry-After": str(exc.retry_after)},
                                  error="Too many failed attempts. Try again in "
                                        f"{format_duration(exc.retry_after)}.")
    except WeakPassword as exc:
        text = "The new password does not meet the requirements: " + "; ".join(
            exc.messages or (exc.description,)) + "."
        return await account_page(state, mfa, member, user, status=422, error=text,
                                  invalid=["new_password"])
    except AuthError as exc:
        return await account_page(state, mfa, member, user, status=exc.status,
                                  error=exc.description)
    session = member.session
    session.user_version = int(user.version)
    session.flash("Your password was changed. Every other session was signed out.")
    await member.browser.rotate(session)
    return redirect("/account")


@router.post("/account/verify-email/resend")
async def resend_verification(member: Member, identity: Identity, recovery: Recovery) -> Response:
    """A new verification mail, by the service behind `POST /users/me/verify-email/resend`
    (its per-user limits included); the older link is void."""
    user = await load_user(identity, member)
    try:
        await recovery.resend_verification(user)
    except Conflict:
        member.session.flash("Your e-mail address is already verified.")
    except TooManyRequests as exc:
        member.session.flash("A verification e-mail was sent a moment ago. You can ask for "
                             f"another in {format_duration(exc.retry_after)}.", "error")
    else:
        member.session.flash(f"A new verification e-mail is on its way to {user.email}.")
    await member.browser.save()
    return redirect("/account")


@router.post("/account/sessions/revoke")
async def revoke_session(member: Member, state: State, form: PageForm) -> Response:
    handle = form.get("handle", "")
    store = state.session_store
    if member.browser.sid and handle == store.handle(member.browser.sid):
        member.session.flash("To end this session, use Log out.", "error")
    elif await store.destroy_by_handle(member.user_id, handle):
        member.session.flash("That session was signed out.")
    else:
        member.session.flash("That session had already ended.", "error")
    await member.browser.save()
    return redirect("/account")


@router.post("/account/apps/revoke")
async def revoke_app_access(member: Member, state: State, db: DbSession, client: CallerInfo,
                            form: PageForm) -> Response:
    """Take back an app's access: its consent and every token it holds for this user."""
    client_id = form.get("client_id", "")
    if await revoke_app(state, db, member.user_id, client_id):
        await state.audit.record("consent_revoked", session=db, user_id=member.user_id,
                                 client_ip=client.ip, client_id=client_id[:64])
        member.session.flash("That app no longer has access to your account.")
    else:
        member.session.flash("That app had no access.", "error")
    await member.browser.save()
    return redirect("/account")


@router.post("/logout/everywhere")
async def logout_everywhere(member: Member, state: State, db: DbSession,
                            client: CallerInfo) -> Response:
    """End every session of the user, this one included, and revoke every refresh family."""
    user_id = member.user_id
    await end_other_sessions(state, db, uuid.UUID(user_id), "logout_everywhere")
    await state.audit.record("logout_everywhere", session=db, user_id=user_id,
                             client_ip=client.ip, channel="web")
    await member.browser.end()
    return redirect("/login?notice=everywhere")
