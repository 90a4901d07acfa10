"""`GET /auth/verify`: the forward-auth check for reverse proxies (nginx `auth_request`,
Traefik `forwardAuth`; see docs/forward-auth.md).

200 with `X-Auth-User-Id`, `X-Auth-User-Email` and `X-Auth-Roles` (names set by
`AUTHSVC_FORWARD_AUTH_*_HEADER`, e.g. Authelia's `Remote-User`) for a signed-in session of an
active user (roles and status from the user cache, so a disabled user is refused at once);
otherwise 401. For a browser (`Accept: text/html`) the 401 carries `X-Auth-Redirect:
/login?next=<the original URL>` when the proxy said what that URL was; with `?redirect=1`
(Traefik, which passes the auth answer to the browser as is) the answer is a 302 to it instead.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from authsvc.composition import Components
from authsvc.deps import State
from authsvc.security.redirects import safe_next
from authsvc.web.deps import Browser
from authsvc.web.render import page
from authsvc.web.route import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}


@router.get("/auth/verify")
async def verify(request: Request, state: State, browser: Browser,
                 redirect: str | None = None) -> Response:
    session = browser.session
    view = await state.users.view(session.user_id) if session and session.user_id else None
    if view is not None and view.active:
        settings = state.settings
        return Response(status_code=200, headers={
            **NO_STORE,
            settings.forward_auth_user_header: view.id,
            settings.forward_auth_email_header: view.email,
            settings.forward_auth_roles_header: ",".join(view.roles),
        })
    if session is not None and session.user_id is not None:
        await browser.end()  # the user was disabled or deleted
    return refuse(request, state, wants_redirect=redirect == "1")


def refuse(request: Request, state: Components, *, wants_redirect: bool) -> Response:
    login = login_url(request, state)
    if login is None or "text/html" not in request.headers.get("accept", ""):
        return Response(status_code=401, headers=NO_STORE)
    if wants_redirect:
        return Response(status_code=302, headers={**NO_STORE, "Location": login})
    return page("error.html", status=401, headers={**NO_STORE, "X-Auth-Redirect": login},
                title="Sign in required", message="Sign in to continue.")


def login_url(request: Request, state: Components) -> str | None:
    """`/login?next=...` back to the URL the proxy was asked for, when it told us; the target
    is checked by the same `safe_next` as the login page (relative, or an allowed host)."""
    original = original_url(request)
    if original is None:
        return None
    target = safe_next(original, state.settings.allowed_redirect_hosts, default="")
    if not target:
        # Not an allowed absolute URL: keep only its path (same host as the login page).
        parts = urlsplit(original)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        target = safe_next(path, (), default="")
    return "/login?next=" + quote(target, safe="/") if target else "/login"


def original_url(request: Request) -> str | None:
    headers = request.headers
    url = headers.get("x-original-url")  # nginx: proxy_set_header X-Original-URL $scheme://...
    if url:
        return url
    uri = headers.get("x-forwarded-uri")  # Traefik (and nginx when configured so)
    if not uri:
        return None
    host = headers.get("x-forwarded-host")
    proto = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    return f"{proto}://{host}{uri}" if host else uri
