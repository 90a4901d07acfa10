"""`GET /authorize` over the hosted pages (OpenID Connect Core 1.0 §3.1.2), the consent page,
and RP-initiated logout (`GET /logout`, OpenID Connect RP-Initiated Logout 1.0).

Without a suitable session the validated request waits in Redis (`AuthorizationStore`) while
the browser goes through `/login` (and `/login/mfa`), which then returns to
`/authorize/resume?request=…`. A request that demands a fresh login (`prompt=login`, `max_age`)
only resumes with a session whose `auth_time` is newer than the request. Third-party clients
need the user's consent to the scopes (remembered per user and client, revocable on
`/account`); the consent form carries the session's CSRF token and the request id, and is only
accepted for the user the consent page was shown to.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from authsvc.clients.service import ClientView
from authsvc.composition import Components
from authsvc.deps import CallerInfo, DbSession, State
from authsvc.errors import AuthError
from authsvc.oidc.authorize import (
    AuthorizationRequest,
    AuthorizeError,
    Unredirectable,
    answer_uri,
    check_request,
    check_target,
    single_values,
)
from authsvc.oidc.codes import Grant
from authsvc.oidc.repository import ConsentRepository
from authsvc.security.jwt import TokenError
from authsvc.web.browser import BrowserSession
from authsvc.web.deps import Browser, PageForm, check_session_csrf
from authsvc.web.render import page, redirect
from authsvc.web.route import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SCOPE_TEXT = {
    "openid": "Know who you are (your account id)",
    "profile": "See your name",
    "email": "See your e-mail address and whether it is verified",
    "offline_access": "Stay signed in to the app while you are away",
}
EXPIRED = ("This sign-in request has expired or was already used. Go back to the app and "
           "start again.")


class AuthorizePageError(AuthError):
    status = 400
    code = "invalid_request"


def to_client(url: str, *, after_form: bool) -> Response:
    """To the app: a 303, or after a form a page that refreshes to it (the CSP `form-action
    'self'` of the pages covers a form's whole redirect chain, so that chain ends here)."""
    if not after_form:
        return redirect(url)
    return page("continue.html", target=url, headers={"Refresh": f"0;url={url}"})


def error_redirect(state: Components, request: AuthorizationRequest | None, redirect_uri: str,
                   error: AuthorizeError, client_state: str | None = None, *,
                   after_form: bool = False) -> Response:
    """An error sent back to the client with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207)."""
    return to_client(answer_uri(redirect_uri, {
        "error": error.error, "error_description": error.description,
        "state": request.state if request else client_state, "iss": state.settings.issuer,
    }), after_form=after_form)


@router.get("/authorize")
async def authorize(request: Request, state: State, browser: Browser, db: DbSession) -> Response:
    params, repeated = single_values(request.query_params.multi_items())
    client_id = params.get("client_id") or ""
    client = await state.clients.lookup(client_id[:64]) if client_id else None
    try:
        redirect_uri = check_target(params, repeated, client)
    except Unredirectable as exc:
        raise AuthorizePageError(exc.message) from None
    assert client is not None
    try:
        auth = check_request(params, repeated, client, redirect_uri)
    except AuthorizeError as exc:
        return error_redirect(state, None, redirect_uri, exc, params.get("state"))
    return await proceed(state, db, browser, client, auth, fresh_login=False)


@router.get("/authorize/resume")
async def resume(state: State, browser: Browser, db: DbSession,
                 request: str | None = None) -> Response:
    """Back from the login (and MFA) pages: continue the waiting request."""
    saved = await state.authorizations.load_request(request)
    if saved is None:
        raise AuthorizePageError(EXPIRED)
    auth = AuthorizationRequest.from_dict(saved["request"])
    client = await state.clients.lookup(auth.client_id)
    if client is None or not client.active or auth.redirect_uri not in client.redirect_uris:
        raise AuthorizePageError(EXPIRED)
    await state.authorizations.drop_request(str(request))
    return await proceed(state, db, browser, client, auth, fresh_login=True)


def _login_satisfied(state: Components, browser: BrowserSession, auth: AuthorizationRequest,
                     fresh_login: bool) -> bool:
    session = browser.session
    if session is None or session.user_id is None:
        return False
    auth_time = session.auth_time or 0.0
    if "login" in auth.prompt and not (fresh_login and auth_time >= auth.created_at):
        return False
    if auth.max_age is not None and state.session_store.clock() - auth_time > auth.max_age:
        return False
    return True


async def proceed(state: Components, db: AsyncSession, browser: BrowserSession, client: ClientView,
                  auth: AuthorizationRequest, *, fresh_login: bool) -> Response:
    """Login if needed, then consent if needed, then the code. `fresh_login`: resumed after
    the login pages (whose form's redirect chain this is)."""
    after_form = fresh_login
    signed_in = _login_satisfied(state, browser, auth, fresh_login)
    if signed_in:
        assert browser.session is not None and browser.session.user_id is not None
        view = await state.users.view(browser.session.user_id)
        if view is None or not view.active:
            await browser.end()
            signed_in = False
    if not signed_in:
        if "none" in auth.prompt:
            return error_redirect(state, auth, auth.redirect_uri,
                                  AuthorizeError("login_required", "The user is not signed in."),
                                  after_form=after_form)
        return await _to_login(state, auth)
    assert browser.session is not None and browser.session.user_id is not None
    user_id = browser.session.user_id
    if not client.first_party:
        consent = await ConsentRepository(db).get(uuid.UUID(user_id), client.client_id)
        covered = consent is not None and set(auth.scopes) <= set(consent.scopes)
        if "consent" in auth.prompt or not covered:
            if "none" in auth.prompt:
                return error_redirect(state, auth, auth.redirect_uri, AuthorizeError(
                    "consent_required", "The user has not allowed this app yet."),
                    after_form=after_form)
            return await _consent_page(state, browser, client, auth, user_id)
    return await _code(state, browser, auth, after_form=after_form)


async def _to_login(state: Components, auth: AuthorizationRequest) -> Response:
    request_id = await state.authorizations.save_request({"request": auth.to_dict()})
    query: dict[str, str] = {"next": f"/authorize/resume?request={request_id}"}
    if "login" in auth.prompt or auth.max_age is not None:
        query["reauth"] = "1"
    if auth.login_hint:
        query["login_hint"] = auth.login_hint
    return redirect(f"/login?{urlencode(query)}")


async def _consent_page(state: Components, browser: BrowserSession, client: ClientView,
                        auth: AuthorizationRequest, user_id: str) -> Response:
    assert browser.session is not None
    request_id = await state.authorizations.save_request(
        {"request": auth.to_dict(), "user_id": user_id, "consent": True})
    return page("consent.html", csrf_token=browser.session.csrf_token, request_id=request_id,
                client_name=client.name, scopes=[SCOPE_TEXT.get(s, s) for s in auth.scopes],
                redirect_host=auth.redirect_uri.split("/")[2] if "//" in auth.redirect_uri
                else auth.redirect_uri.split(":")[0])


async def _code(state: Components, browser: BrowserSession, auth: AuthorizationRequest, *,
                after_form: bool) -> Response:
    session = browser.session
    assert session is not None and session.user_id is not None
    code = await state.authorizations.issue(Grant(
        client_id=auth.client_id, redirect_uri=auth.redirect_uri, scope=auth.scope,
        code_challenge=auth.code_challenge, user_id=session.user_id,
        auth_time=int(session.auth_time or 0), amr=list(session.amr or ["pwd"]),
        nonce=auth.nonce,
    ))
    return to_client(answer_uri(auth.redirect_uri, {"code": code, "state": auth.state,
                                                    "iss": state.settings.issuer}),
                     after_form=after_form)


@router.post("/authorize/consent")
async def consent(request: Request, state: State, browser: Browser, db: DbSession,
                  client_info: CallerInfo, form: PageForm) -> Response:
    """Allow or deny, from the consent page (session CSRF token, the user it was shown to)."""
    await check_session_csrf(request, browser, form)
    request_id = form.get("request", "")
    saved = await state.authorizations.load_request(request_id)
    session = browser.session
    if (saved is None or not saved.get("consent") or session is None
            or session.user_id is None or saved.get("user_id") != session.user_id):
        raise AuthorizePageError(EXPIRED)
    await state.authorizations.drop_request(request_id)
    auth = AuthorizationRequest.from_dict(saved["request"])
    client = await state.clients.lookup(auth.client_id)
    if client is None or not client.active or auth.redirect_uri not in client.redirect_uris:
        raise AuthorizePageError(EXPIRED)
    if form.get("decision") != "allow":
        return error_redirect(state, auth, auth.redirect_uri,
                              AuthorizeError("access_denied", "The user did not allow it."),
                              after_form=True)
    await ConsentRepository(db).grant(uuid.UUID(session.user_id), client.client_id, auth.scopes)
    await state.audit.record("consent_granted", session=db, user_id=session.user_id,
                             client_ip=client_info.ip, client_id=client.client_id,
                             scopes=auth.scopes)
    return await _code(state, browser, auth, after_form=True)


# ---------------------------------------------------------------- RP-initiated logout
@router.get("/logout")
async def end_session(request: Request, state: State, browser: Browser, db: DbSession,
                      client_info: CallerInfo, id_token_hint: str | None = None,
                      post_logout_redirect_uri: str | None = None,
                      client_id: str | None = None) -> Response:
    """OpenID Connect RP-Initiated Logout 1.0 §2-§3. A valid `id_token_hint` for the signed-in
    user ends the session at once; otherwise the user confirms (a CSRF-protected form), so a
    stray link cannot sign anyone out. `post_logout_redirect_uri` must be registered, exactly,
    for the client the hint (or `client_id`) names; anything else shows "signed out" here."""
    client_state = request.query_params.get("state")
    hint: dict[str, Any] | None = None
    if id_token_hint:
        try:
            hint = state.codec.decode_id_token(id_token_hint)
        except TokenError:
            raise AuthorizePageError("The sign-out request is not valid.") from None
    named = str(hint["aud"]) if hint else client_id
    target = await _logout_target(state, named, post_logout_redirect_uri, client_state)
    session = browser.session
    if session is None or session.user_id is None:
        return _signed_out(target)
    if hint is not None and hint.get("sub") == session.user_id:
        await _end(state, db, browser, client_info, hint.get("sid"))
        return _signed_out(target)
    return page("logout_confirm.html", csrf_token=session.csrf_token,
                id_token_hint=id_token_hint or "", client_id=named or "",
                post_logout_redirect_uri=post_logout_redirect_uri or "",
                client_state=client_state or "")


@router.post("/logout/end")
async def end_session_confirmed(request: Request, state: State, browser: Browser,
                                db: DbSession, client_info: CallerInfo,
                                form: PageForm) -> Response:
    await check_session_csrf(request, browser, form)
    sid = None
    if form.get("id_token_hint"):
        try:
            hint = state.codec.decode_id_token(form["id_token_hint"])
        except TokenError:
            raise AuthorizePageError("The sign-out request is not valid.") from None
        session = browser.session
        if session is not None and hint.get("sub") == session.user_id:
            sid = hint.get("sid")
    target = await _logout_target(state, form.get("client_id") or None,
                                  form.get("post_logout_redirect_uri") or None,
                                  form.get("state") or None)
    if browser.session is not None and browser.session.user_id is not None:
        await _end(state, db, browser, client_info, sid)
    return _signed_out(target, after_form=True)


async def _logout_target(state: Components, client_id: str | None, uri: str | None,
                         client_state: str | None) -> str | None:
    if not uri:
        return None
    client = await state.clients.lookup(client_id[:64]) if client_id else None
    if client is None or uri not in client.post_logout_redirect_uris:
        raise AuthorizePageError("The app asked to send you to an address it has not "
                                 "registered for after signing out.")
    return answer_uri(uri, {"state": client_state}) if client_state else uri


async def _end(state: Components, db: AsyncSession, browser: BrowserSession,
               client_info: Any, sid: Any) -> None:
    session = browser.session
    assert session is not None
    await state.audit.record("logout", session=db, user_id=session.user_id,
                             client_ip=client_info.ip, channel="rp_initiated")
    if isinstance(sid, str):
        await state.tokens.revoke_family_of(db, sid, "logout")
    await browser.end()


def _signed_out(target: str | None, *, after_form: bool = False) -> Response:
    if target:
        return to_client(target, after_form=after_form)
    return page("message.html", title="Signed out", message="You have been signed out.",
                link_href="/login", link_text="Sign in again")
