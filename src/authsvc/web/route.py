"""`PageRoute`: the route class of the hosted pages.

Errors raised while serving a page (by a service, a dependency or the route) render `error.html`
instead of the API's JSON: the route installs its own exception handlers for the request, so
the app-wide JSON handlers stay as they are, and the database dependency still sees the
exception (its transaction rolls back). The session cookie a route decided on is applied to
the response, error pages included.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from authsvc.errors import SERVER_ERROR, AuthError, TooManyRequests, note_refusal, problem
from authsvc.web.i18n import N_
from authsvc.web.render import page, redirect, use

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


def error_page_for(exc: BaseException, shown: AuthError) -> Response:
    """The HTML form of `shown` (`errors.problem(exc)`): a refusal's own sentence, a form that
    did not parse, or what a browser may be told of an outage or a bug."""
    retry = shown.retry_after if isinstance(shown, TooManyRequests) else None
    headers = {k: v for k, v in shown.headers.items() if k.lower() in ("retry-after", "allow")}
    if isinstance(exc, RequestValidationError):
        return error_page(400, N_("The form was incomplete. Please try again."))
    if isinstance(exc, HTTPException):
        return error_page(shown.status, None, headers=headers)
    if exc is not shown and shown.status == 503:  # an outage, not a service's refusal
        return error_page(503, N_("The service cannot answer right now."), headers=headers,
                          retry_after=int(headers.get("Retry-After", "5")))
    if shown.code == SERVER_ERROR:
        return error_page(500, N_("An internal error occurred. Please try again later."))
    return error_page(shown.status, shown.description, headers=headers, retry_after=retry)


def browser_error(request: Request, exc: BaseException, shown: AuthError) -> Response:
    """The app-wide HTML error (`errors.install_handlers`): a browser on an unknown path, or a
    failure outside the pages."""
    use(request)
    return error_page_for(exc, shown)


async def on_page_error(request: Request, exc: Exception) -> Response:
    """Any failure while serving a page, as `error.html` (the API's classification)."""
    shown = problem(exc, request.scope)
    note_refusal(request.scope.get("state"), shown)
    response = error_page_for(exc, shown)
    if exc is not shown and not isinstance(exc, HTTPException | RequestValidationError):
        return response  # an outage or a bug: the route's session decision never happened
    return _finish(request, response)


PAGE_HANDLERS: dict[Any, Callable[..., Any]] = {
    LoginRequired: on_login_required,
    PasswordRenewalRequired: on_renewal_required,
    AuthError: on_page_error,
    HTTPException: on_page_error,
    RequestValidationError: on_page_error,
    Exception: on_page_error,
}


class PageRoute(APIRoute):
    """A hosted page."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["starlette.exception_handlers"] = (PAGE_HANDLERS, {})
        use(Request(scope))
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def serve(request: Request) -> Response:
            return _finish(request, await handler(request))

        return serve
