"""`PageRoute`: the route class of the hosted pages.

Errors raised while serving a page (by a service, a dependency or the route) render `error.html`
instead of the API's JSON: the route installs its own exception handlers for the request, so
the app-wide JSON handlers stay as they are, and the database dependency still sees the
exception (its transaction rolls back). The session cookie a route decided on is applied to
the response, error pages included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from authsvc.errors import AuthError, TooManyRequests, is_store_outage
from authsvc.web.i18n import N_
from authsvc.web.render import page, redirect, use

log = logging.getLogger("authsvc.web")

TITLES = {
    400: N_("That did not work"),
    403: N_("Request refused"),
    404: N_("Page not found"),
    405: N_("This address does not take that request"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Temporarily unavailable"),
}


class LoginRequired(Exception):
    """`@login_required` refused: send the browser to the login page, back here afterwards."""

    def __init__(self, next_path: str = "/account") -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordRenewalRequired(Exception):
    """The user's password was found breached: to the password form before anything else."""


class CsrfRefused(AuthError):
    status = 403
    code = "csrf_failed"
    description = (
        "This form has expired or did not come from this site, so nothing was changed. "
        "Go back, reload the page and try again."
    )


def _browser(request: Request) -> Any:
    return getattr(request.state, "browser", None)


def _finish(request: Request, response: Response) -> Response:
    browser = _browser(request)
    if browser is not None:
        browser.apply(response)
    return response


async def on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    # The dead cookie stays for /login to see: it says "your session expired" and drops it.
    return _finish(request, redirect("/login?next=" + quote(exc.next_path, safe="/")))


async def on_renewal_required(request: Request, exc: Exception) -> Response:
    return _finish(request, redirect("/account"))


def error_page(status: int, message: str | None, *, headers: dict[str, str] | None = None,
               retry_after: int | None = None) -> Response:
    return page("error.html", status=status, headers=headers, title=TITLES.get(status),
                message=message, retry_after=retry_after)


async def on_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    retry = exc.retry_after if isinstance(exc, TooManyRequests) else None
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "retry-after"}
    return _finish(request, error_page(exc.status, exc.description, headers=headers,
                                       retry_after=retry))


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _finish(request, error_page(exc.status_code, None))


async def on_invalid(request: Request, exc: Exception) -> Response:
    return _finish(request, error_page(400, N_("The form was incomplete. Please try again.")))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if is_store_outage(exc):
        log.error("store unavailable on a page: %s", type(exc).__name__)
        return error_page(503, N_("The service cannot answer right now."),
                          headers={"Retry-After": "5"}, retry_after=5)
    log.exception("unhandled error on %s", request.url.path)
    return error_page(500, N_("An internal error occurred. Please try again later."))


PAGE_HANDLERS: dict[Any, Callable[..., Any]] = {
    LoginRequired: on_login_required,
    PasswordRenewalRequired: on_renewal_required,
    AuthError: on_auth_error,
    HTTPException: on_http_error,
    RequestValidationError: on_invalid,
    Exception: on_unexpected,
}


class PageRoute(APIRoute):
    """A hosted page."""

    bearer_aside = False

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.bearer_aside and any(k == b"authorization" for k, _ in scope.get("headers", [])):
            return Match.NONE, {}
        return super().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["starlette.exception_handlers"] = (PAGE_HANDLERS, {})
        use(Request(scope))
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def serve(request: Request) -> Response:
            return _finish(request, await handler(request))

        return serve


class SharedPathRoute(PageRoute):
    """A page on a path the API also serves (POST /logout): a request with an Authorization
    header is not for the page but for the API's bearer route of the same path."""

    bearer_aside = True
