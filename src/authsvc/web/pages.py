"""Sign-in, registration and sign-out pages. They call the same services as the API: the
password login (lockout, audit) and the identity service (password policy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from authsvc.caller import Caller
from authsvc.composition import Components
from authsvc.deps import (
    CallerInfo,
    DbSession,
    Identity,
    Recovery,
    State,
    password_login,
    rate_limit,
)
from authsvc.errors import AuthError, Conflict, InvalidGrant, TemporarilyLocked, WeakPassword
from authsvc.identity.login import EmailNotVerified
from authsvc.identity.models import User
from authsvc.security.redirects import safe_next
from authsvc.sessions.model import Session
from authsvc.web.browser import BrowserSession
from authsvc.web.cookies import PRE_SESSION_CSRF, clear_cookie, cookie_name, set_cookie
from authsvc.web.deps import (
    PASSWORD_RENEWAL,
    Browser,
    PageForm,
    PreSessionCsrfChecked,
    check_session_csrf,
)
from authsvc.web.device_cookie import remember_device
from authsvc.web.i18n import N_
from authsvc.web.login_mfa import start_second_factor
from authsvc.web.render import page, redirect
from authsvc.web.route import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
#: POST /logout, the browser's: answered through the API's route of the path, which tells a
#: bearer request from a browser's (`authsvc.routing`); not included in the pages' router.
logout_router = APIRouter(route_class=PageRoute, include_in_schema=False)

WRONG_PASSWORD = N_("Wrong e-mail or password.")  # noqa: S105 - a message
LOCKED = N_("Too many failed attempts. For your security, sign-in to this account is "
           "paused.")
NOTICES = {
    "signed_out": N_("You have been signed out."),
    "everywhere": N_("You have been signed out on every device."),
    "mfa_expired": N_("Your sign-in took too long or had too many wrong codes. Please start "
                      "again."),
    "registered": N_("Your account is ready. We sent you a verification e-mail: open its link, "
                     "then sign in."),
}
VERIFICATION_SENT = ("We sent you a verification e-mail at {email}: open its link to confirm "
                     "your address.")


def next_target(state: Components, value: str | None) -> str:
    return safe_next(value, state.settings.allowed_redirect_hosts)


def pre_session_form(request: Request, state: Components, template: str, *, status: int = 200,
                     headers: dict[str, str] | None = None, **context: Any) -> Response:
    """A page whose form carries the pre-session CSRF token (its cookie reused when valid)."""
    secure = state.settings.secure_cookies
    cookie = request.cookies.get(cookie_name(PRE_SESSION_CSRF, secure))
    token = state.pre_session_csrf.form_token(cookie)
    fresh = None
    if token is None:
        fresh, token = state.pre_session_csrf.issue()
    response = page(template, status=status, headers=headers, csrf_token=token, **context)
    if fresh is not None:
        set_cookie(response, PRE_SESSION_CSRF, fresh, secure=secure,
                   max_age=state.pre_session_csrf.ttl)
    return response


async def sign_in(browser: BrowserSession, state: Components, user: User, client: Caller,
                  amr: list[str]) -> Session:
    """A fresh session for the user under a new id (the old id dies: session fixation)."""
    return await browser.start(
        user_id=str(user.id), user_version=int(user.version or 1),
        auth_time=state.session_store.clock(), amr=amr,
        user_agent=(client.user_agent or "")[:200], ip=client.ip or "",
    )


def after_login(user: User, target: str) -> str:
    """Where a fresh session goes: a password found breached is replaced first (/account)."""
    return PASSWORD_RENEWAL if user.password_reset_required else target


def signed_in_redirect(state: Components, target: str) -> Response:
    response = redirect(target)
    clear_cookie(response, PRE_SESSION_CSRF, secure=state.settings.secure_cookies)
    return response


# ------------------------------------------------------------------------- login
@router.get("/login")
async def login_page(request: Request, state: State, browser: Browser,
                     next: str | None = None, notice: str | None = None,
                     reauth: str | None = None, login_hint: str | None = None) -> Response:
    """`reauth=1`: an app asked for a fresh sign-in (OpenID Connect `prompt=login`, `max_age`),
    so the form shows even to a signed-in browser; `login_hint` fills in the e-mail."""
    target = next_target(state, next)
    if browser.signed_in and reauth != "1":
        return redirect(target)
    error = None
    if browser.expired:
        browser.forget_cookie()
        error = "Your session has expired. Please sign in again."
    return pre_session_form(request, state, "login.html", next=target if next else None,
                            error=error, notice=NOTICES.get(notice or ""),
                            username=(login_hint or "")[:320] or None,
                            passkeys_on=state.passkeys is not None)


@router.post("/login", dependencies=[rate_limit("login_page", "rate_limit_login_page"),
                                     PreSessionCsrfChecked])
async def login(request: Request, state: State, browser: Browser, identity: Identity,
                db: DbSession, client: CallerInfo, form: PageForm) -> Response:
    username, password = form.get("username", "").strip(), form.get("password", "")
    target = next_target(state, form.get("next"))

    def again(status: int, error: str | None, **extra: Any) -> Response:
        return pre_session_form(request, state, "login.html", status=status, error=error or None,
                                username=username, next=target if form.get("next") else None,
                                passkeys_on=state.passkeys is not None, **extra)

    if not username or not password:
        return again(400, "Enter your e-mail address and your password.",
                     invalid=[n for n in ("username", "password") if not form.get(n)])
    login = password_login(state, identity)
    try:
        user = await login.verify(username, password, client)
    except TemporarilyLocked as exc:
        # The lockout says so; the short progressive pause after a failure needs only the wait.
        locked = exc.description == TemporarilyLocked.description
        return again(429, LOCKED if locked else "", retry_after=exc.retry_after,
                     headers={"Retry-After": str(exc.retry_after)})
    except InvalidGrant:
        return again(400, WRONG_PASSWORD, invalid=["password"])
    except EmailNotVerified as exc:
        return again(403, exc.description)
    except AuthError as exc:  # e.g. an over-long password
        return again(exc.status, exc.description)
    if user.mfa_enabled:
        response = await start_second_factor(state, db, identity, browser, user, client, target)
        clear_cookie(response, PRE_SESSION_CSRF, secure=state.settings.secure_cookies)
        return response
    await sign_in(browser, state, user, client, ["pwd"])
    await state.audit.record("login_success", session=db, user_id=user.id, client_ip=client.ip,
                             method="password", channel="web")
    return await remember_device(login, signed_in_redirect(state, after_login(user, target)),
                                 user, client, secure=state.settings.secure_cookies)


# ---------------------------------------------------------------------- register
@router.get("/register")
async def register_page(request: Request, state: State, browser: Browser) -> Response:
    if browser.signed_in:
        return redirect("/account")
    return pre_session_form(request, state, "register.html",
                            password_policy=state.validator.describe())


@router.post("/register", dependencies=[rate_limit("register", "rate_limit_register"),
                                        PreSessionCsrfChecked])
async def register(request: Request, state: State, browser: Browser, identity: Identity,
                   db: DbSession, client: CallerInfo, form: PageForm,
                   recovery: Recovery) -> Response:
    email, password = form.get("email", "").strip(), form.get("password", "")

    def again(status: int, **context: Any) -> Response:
        return pre_session_form(request, state, "register.html", status=status, email=email,
                                password_policy=state.validator.describe(), **context)

    if not email or not password:
        return again(400, error="Enter your e-mail address and a password.",
                     invalid=[n for n in ("email", "password") if not form.get(n)])
    try:
        user = await identity.register(email, password, None)
    except WeakPassword as exc:
        return again(422, unmet=list(exc.messages) or [exc.description], invalid=["password"])
    except Conflict as exc:
        return again(409, error=f"{exc.description} Sign in instead, or reset your password.",
                     invalid=["email"])
    except AuthError as exc:
        field = "email" if exc.code == "invalid_email" else "password"
        return again(exc.status, error=exc.description, invalid=[field])
    await state.audit.record("user_registered", session=db, user_id=user.id, channel="web")
    # As `POST /users`: the verification mail leaves once the account has committed.
    await recovery.send_verification(user)
    if state.settings.require_verified_email:
        return redirect("/login?notice=registered")
    session = await sign_in(browser, state, user, client, ["pwd"])
    session.flash(VERIFICATION_SENT.format(email=user.email))
    await browser.save()
    return signed_in_redirect(state, "/account")


# ------------------------------------------------------------------------ logout
@logout_router.post("/logout")
async def logout(request: Request, state: State, browser: Browser, db: DbSession,
                 client: CallerInfo, form: PageForm) -> Response:
    """End this browser's session (POST only, with the session's CSRF token)."""
    if browser.session is None:
        browser.forget_cookie()
        return redirect("/login")
    await check_session_csrf(request, browser, form)
    if browser.session is not None and browser.session.user_id is not None:
        await state.audit.record("logout", session=db, user_id=browser.session.user_id,
                                 client_ip=client.ip, channel="web")
    await browser.end()
    return redirect("/login?notice=signed_out")
