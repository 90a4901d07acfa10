"""Dependencies of the hosted pages: the browser session, `require_session` (the design's
`@login_required`), the form, and the two CSRF checks (OWASP CSRF Prevention Cheat Sheet)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from authsvc.deps import State
from authsvc.forms import read_form
from authsvc.identity.cache import UserView
from authsvc.security.csrf import csrf_matches
from authsvc.sessions.model import Session
from authsvc.web.browser import BrowserSession
from authsvc.web.cookies import PRE_SESSION_CSRF, SESSION, cookie_name
from authsvc.web.route import CsrfRefused, LoginRequired, PasswordRenewalRequired

CSRF_HEADER = "x-csrf-token"
# A password found in a breach list at login: until a new one is chosen, the signed-in pages
# lead to the account page's password form, and only it (and signing out everywhere) works.
PASSWORD_RENEWAL = "/account"  # noqa: S105 - a path
RENEWAL_ALLOWED = frozenset({("GET", "/account"), ("POST", "/account/password"),
                             ("POST", "/logout/everywhere")})


async def get_browser(request: Request, state: State) -> BrowserSession:
    """The browser's session, loaded once a request (its idle clock restarts)."""
    cached = getattr(request.state, "browser", None)
    if isinstance(cached, BrowserSession):
        return cached
    secure = state.settings.secure_cookies
    sid = request.cookies.get(cookie_name(SESSION, secure))
    session = await state.session_store.load(sid) if sid else None
    browser = BrowserSession(state.session_store, secure=secure, sid=sid if session else None,
                             session=session, had_cookie=bool(sid))
    request.state.browser = browser
    return browser


Browser = Annotated[BrowserSession, Depends(get_browser)]


@dataclass
class SignedIn:
    """A fully signed-in browser: its session and the user's current view."""

    browser: BrowserSession
    view: UserView

    @property
    def session(self) -> Session:
        assert self.browser.session is not None
        return self.browser.session

    @property
    def user_id(self) -> str:
        return self.view.id

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/account"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def require_session(request: Request, state: State, browser: Browser) -> SignedIn:
    """`@login_required`: a signed-in session of an active user, else a redirect to /login.

    A user disabled meanwhile loses the session at once; a user changed elsewhere (roles, for
    instance) keeps it under a new id (a privilege change rotates the id, OWASP).
    """
    session = browser.session
    if session is None or session.user_id is None:
        raise LoginRequired(_here(request))
    view = await state.users.view(session.user_id)
    if view is None or not view.active:
        await browser.end()
        raise LoginRequired(_here(request))
    if view.version != session.user_version:
        session.user_version = view.version
        await browser.rotate()
        if browser.session is None:
            raise LoginRequired(_here(request))
    if view.password_reset_required and (request.method, request.url.path) not in RENEWAL_ALLOWED:
        raise PasswordRenewalRequired()
    return SignedIn(browser, view)


SignedInUser = Annotated[SignedIn, Depends(require_session)]


async def page_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (read once; duplicates and NUL bytes refused)."""
    cached: dict[str, str] | None = getattr(request.state, "page_form", None)
    if cached is None:
        has_body = request.method == "POST" and await request.body()
        cached = await read_form(request) if has_body else {}
        request.state.page_form = cached
    return cached


PageForm = Annotated[dict[str, str], Depends(page_form)]


def _given_token(request: Request, form: dict[str, str]) -> str | None:
    # fetch() calls send the header (static/js/csrf_manager.js); forms send the field.
    return request.headers.get(CSRF_HEADER) or form.get("csrf_token")


async def check_session_csrf(request: Request, browser: Browser, form: PageForm) -> None:
    """Synchronizer token: the form's token must equal the one kept in this session."""
    expected = browser.session.csrf_token if browser.session else None
    if not csrf_matches(expected, _given_token(request, form)):
        raise CsrfRefused()


async def require_member(
    signed_in: SignedInUser, request: Request, browser: Browser, form: PageForm
) -> SignedIn:
    """A signed-in session AND a valid CSRF token: every state-changing account form."""
    await check_session_csrf(request, browser, form)
    return signed_in


Member = Annotated[SignedIn, Depends(require_member)]


async def check_pre_session_csrf(request: Request, state: State, form: PageForm) -> None:
    """Signed double-submit pair for the login and register forms (against login CSRF)."""
    cookie = request.cookies.get(cookie_name(PRE_SESSION_CSRF, state.settings.secure_cookies))
    if not state.pre_session_csrf.verify(cookie, _given_token(request, form)):
        raise CsrfRefused()


PreSessionCsrfChecked = Depends(check_pre_session_csrf)
SessionCsrfChecked = Depends(check_session_csrf)
