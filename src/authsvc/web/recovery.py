"""Recovery pages: `/forgot`, `/reset` and `/verify` (the last two opened from a mailed link).

Anonymous forms with the pre-session CSRF pair, as /login and /register. Every decision is taken
by the `RecoveryService` behind `POST /password/forgot`, `POST /password/reset` and
`POST /users/verify-email`: these routes only turn its answers into HTML. A GET never acts: the
token of a link is only put into a form, and only a POST (with a valid CSRF token) spends it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from authsvc.composition import Components
from authsvc.deps import CallerInfo, Recovery, State, rate_limit
from authsvc.errors import AuthError, InvalidCode, TooManyRequests, WeakPassword
from authsvc.identity.emails import EmailRefused
from authsvc.recovery.service import InvalidActionToken, MfaRequiredForReset
from authsvc.web.cookies import PRE_SESSION_CSRF, clear_cookie
from authsvc.web.deps import Browser, PageForm, PreSessionCsrfChecked
from authsvc.web.i18n import N_
from authsvc.web.pages import pre_session_form
from authsvc.web.render import page
from authsvc.web.route import PageRoute
from authsvc.web.templating import format_duration

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_EMAIL, MAX_TOKEN, MAX_PASSWORD = 320, 512, 4096
RESET_LINK_INVALID = N_("This password reset link is invalid, has expired or was already used. "
                      "Ask for a new one.")
RESET_LINK_INCOMPLETE = N_("This password reset link is incomplete. Open the link from the e-mail "
                         "again, or ask for a new one.")
VERIFY_LINK_INVALID = N_("This link has expired or was already used.")
MFA_NEEDED = N_("Your account uses two-step verification: enter a code to confirm the reset.")
MFA_MISSING = N_("Choose a verification method and enter its code.")
CODE_INVALID = N_("That code is not valid. Your password was not changed.")
# What a reset form may echo back in its hidden `mfa_methods` field (display only).
RESET_METHODS = ("totp", "recovery_code")


# ------------------------------------------------------------------------ forgot
@router.get("/forgot")
async def forgot_page(request: Request, state: State) -> Response:
    return pre_session_form(request, state, "forgot.html")


@router.post("/forgot", dependencies=[rate_limit("forgot", "rate_limit_forgot"),
                                      PreSessionCsrfChecked])
async def forgot(request: Request, state: State, recovery: Recovery,
                 form: PageForm) -> Response:
    """The same notice whether or not the address has an account (the service does the same
    work either way). The per-address limit is the API's: both count in the `forgot` bucket."""
    email = form.get("email", "").strip()
    if not email or len(email) > MAX_EMAIL:
        return pre_session_form(request, state, "forgot.html", status=400, email=email[:MAX_EMAIL],
                                error="Enter the e-mail address of your account.",
                                invalid=["email"])
    try:
        await recovery.request_reset(email)
    except EmailRefused as exc:
        return pre_session_form(request, state, "forgot.html", status=exc.status,
                                email=email[:MAX_EMAIL], error=exc.description,
                                invalid=["email"])
    return pre_session_form(request, state, "forgot.html", sent=True)


# ------------------------------------------------------------------------- reset
def link_problem(request: Request, state: Components, message: str) -> Response:
    """A reset link that cannot be used: one message for used, expired and unknown tokens."""
    return pre_session_form(request, state, "message.html", status=400,
                            title="This link cannot be used", message=message,
                            link_href="/forgot", link_text="Ask for a new link")


def reset_form(request: Request, state: Components, token: str, *, status: int = 200,
               headers: dict[str, str] | None = None, **context: Any) -> Response:
    return pre_session_form(request, state, "reset.html", status=status, headers=headers,
                            token=token, password_policy=state.validator.describe(), **context)


@router.get("/reset")
async def reset_page(request: Request, state: State, recovery: Recovery,
                     token: str | None = None) -> Response:
    """The form only: the token is never spent here (mail scanners follow links). A user with
    MFA is asked for the new password and the second factor on this one page."""
    if not token or len(token) > MAX_TOKEN:
        return link_problem(request, state, RESET_LINK_INCOMPLETE)
    methods = [m for m in await recovery.reset_factors(token) if m in RESET_METHODS]
    return reset_form(request, state, token, mfa_methods=methods or None)


@router.post("/reset", dependencies=[PreSessionCsrfChecked])
async def reset(request: Request, state: State, browser: Browser, recovery: Recovery,
                client: CallerInfo, form: PageForm) -> Response:
    token, password = form.get("token", ""), form.get("password", "")
    method, code = form.get("method", "").strip(), form.get("code", "").strip()
    shown = [m for m in form.get("mfa_methods", "").split() if m in RESET_METHODS] or None

    def again(status: int, **context: Any) -> Response:
        return reset_form(request, state, token, status=status, method=method or None,
                          **{"mfa_methods": shown, **context})

    if not token or len(token) > MAX_TOKEN:
        return link_problem(request, state, RESET_LINK_INVALID)
    if not password or len(password) > MAX_PASSWORD:
        return again(400, error="Choose a new password.", invalid=["password"])
    try:
        user = await recovery.reset_password(token, password, client, method=method or None,
                                             code=code or None)
    except InvalidActionToken:
        return link_problem(request, state, RESET_LINK_INVALID)
    except WeakPassword as exc:
        return again(422, unmet=list(exc.messages) or [exc.description], invalid=["password"])
    except MfaRequiredForReset as exc:
        asked = bool(method or code)
        return again(400, mfa_methods=list(exc.extra.get("mfa_methods") or []),
                     error=MFA_MISSING if asked else None, notice=None if asked else MFA_NEEDED,
                     invalid=["code"])
    except InvalidCode:
        return again(400, error=CODE_INVALID, invalid=["code"])
    except TooManyRequests as exc:  # the username's lockout, counted by wrong codes too
        wait = format_duration(exc.retry_after)
        return again(429, headers={"Retry-After": str(exc.retry_after)},
                     error=f"Too many failed attempts. Try again in {wait}.")
    except AuthError as exc:
        return again(exc.status, error=exc.description)
    # The service ended every session of the user; this browser's, if it was one, included.
    if browser.session is not None and browser.session.user_id == str(user.id):
        await browser.end()
    response = page("message.html", title="Your password was changed",
                    message="Sign in with your new password. For your security, every device "
                            "that was signed in to your account has been signed out.",
                    link_href="/login", link_text="Sign in")
    clear_cookie(response, PRE_SESSION_CSRF, secure=state.settings.secure_cookies)
    return response


# ------------------------------------------------------------------------ verify
@router.get("/verify")
async def verify_page(request: Request, state: State, token: str | None = None) -> Response:
    """A confirm button: following the link changes nothing (mail scanners follow links)."""
    usable = token if token and len(token) <= MAX_TOKEN else None
    return pre_session_form(request, state, "verify.html", status=200 if usable else 400,
                            token=usable)


@router.post("/verify", dependencies=[PreSessionCsrfChecked])
async def verify(request: Request, state: State, recovery: Recovery,
                 form: PageForm) -> Response:
    token = form.get("token", "")
    if not token or len(token) > MAX_TOKEN:
        return pre_session_form(request, state, "verify.html", status=400,
                                error=VERIFY_LINK_INVALID)
    try:
        await recovery.verify_email(token)
    except InvalidActionToken:
        return pre_session_form(request, state, "verify.html", status=400,
                                error=VERIFY_LINK_INVALID)
    return pre_session_form(request, state, "verify.html", verified=True)
