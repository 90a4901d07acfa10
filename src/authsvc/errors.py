"""Errors that read as sentences, and the one place that renders them.

Services raise `AuthError`s. `problem` turns any failure into the `AuthError` the client sees
(outages classified once, by `is_store_outage`); `render` writes it as the contract's JSON
(`{"error", "error_description"}`, RFC 6749 §5.2, with RFC 6750's challenges), the pages as
HTML (web/route.py, handed in as a `PageRenderer`: this module imports neither face). No
handler ever lets a trace, a SQL fragment or a secret reach a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Scope

from authsvc.responses import json_response

log = logging.getLogger("authsvc.errors")

OAUTH_PATHS = frozenset({"/token", "/introspect", "/revoke"})


class AuthError(Exception):
    """A refusal the client should see: an error code, an HTTP status and a human description."""

    status = 400
    code = "invalid_request"
    description = "The request is invalid."

    def __init__(
        self,
        description: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.description = description or self.description
        self.code = code or self.code
        self.status = status or self.status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.description)

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.description, **self.extra}


class InvalidRequest(AuthError):
    code = "invalid_request"


class InvalidGrant(AuthError):
    code = "invalid_grant"
    description = "The credentials or grant are invalid."


class InvalidClient(AuthError):
    status = 401
    code = "invalid_client"
    description = "Client authentication failed."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description, headers={"WWW-Authenticate": 'Basic realm="authsvc"'})


class UnsupportedGrantType(AuthError):
    code = "unsupported_grant_type"
    description = "The grant type is not supported."


class InvalidToken(AuthError):
    """RFC 6750 §3: a bearer token that cannot be used, with the reason in the header."""

    status = 401
    code = "invalid_token"
    description = "The access token is malformed or its signature is invalid."

    def __init__(self, description: str | None = None, *, code: str | None = None) -> None:
        super().__init__(description, code=code)
        self.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{self.description}"'
        )


class BindingMismatch(InvalidToken):
    """The token is bound (AUTHSVC_TOKEN_BINDING) to another user agent or address."""

    description = "The access token was issued to another client."


class MissingToken(InvalidToken):
    """RFC 6750 §3.1: a request with no token at all gets the challenge without an error code."""

    description = "A bearer access token is required."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description)
        self.headers["WWW-Authenticate"] = 'Bearer realm="authsvc"'


class TokenExpired(InvalidToken):
    code = "token_expired"
    description = "The access token has expired."


class TokenRevoked(InvalidToken):
    code = "token_revoked"
    description = "The access token has been revoked."


class InvalidCode(AuthError):
    """A second factor (TOTP, e-mailed or recovery code, passkey) that does not verify."""

    code = "invalid_code"
    description = "The code is incorrect, expired or already used."


class Forbidden(AuthError):
    status = 403
    code = "forbidden"
    description = "You are not allowed to do this."


class StepUpRequired(AuthError):
    status = 403
    code = "mfa_step_up_required"
    description = "This operation needs a recent second factor: complete a step-up first."


class NotFound(AuthError):
    status = 404
    code = "not_found"
    description = "Not found."


class Conflict(AuthError):
    status = 409
    code = "conflict"


class WeakPassword(AuthError):
    status = 422
    code = "weak_password"
    description = "The password does not meet the policy."
    #: The unmet rules as sentences, for the pages (the JSON body lists their codes in `unmet`).
    messages: tuple[str, ...] = ()


class TooManyRequests(AuthError):
    status = 429
    code = "rate_limited"
    description = "Too many requests; try again later."

    def __init__(
        self, retry_after: float, description: str | None = None, *, code: str | None = None
    ) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(description, code=code, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class TemporarilyLocked(TooManyRequests):
    code = "temporarily_locked"
    description = "Too many failed attempts; this account is temporarily locked."


class BodyTooLarge(AuthError):
    status = 413
    code = "request_too_large"
    description = "The request body is too large."


class ServiceUnavailable(AuthError):
    status = 503
    code = "temporarily_unavailable"
    description = "The service cannot answer right now; try again shortly."

    def __init__(self, description: str | None = None, retry_after: int = 5) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})


# ---------------------------------------------------------------- outages, classified once
# Every way a store can be unavailable, in one place: each is answered 503 + Retry-After (fail
# closed), never 500 and never "allowed". SQLSTATE classes and codes (PostgreSQL appendix A):
OUTAGE_SQLSTATE_CLASSES = (
    "08",  # connection exception: refused, lost, the server rejected the connection
    "53",  # insufficient resources: too many connections, out of memory or disk
)
OUTAGE_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown: the server is shutting down (smart/fast stop, terminate)
    "57P02",  # crash_shutdown: another backend crashed
    "57P03",  # cannot_connect_now: starting up, in recovery, "not yet accepting connections"
    "57P04",  # database_dropped
    "57P05",  # idle_session_timeout
    "57014",  # query_canceled: statement_timeout, or a rotation's missed commit deadline
    "25006",  # read_only_sql_transaction: a failover landed on a standby
    "40001",  # serialization_failure: retry
    "40P01",  # deadlock_detected: retry
})
# What asyncpg and PostgreSQL say when no SQLSTATE reaches the client.
OUTAGE_MESSAGES = (
    "not yet accepting connections", "the database system is starting up",
    "the database system is shutting down", "the database system is in recovery mode",
    "connection was closed in the middle of operation", "connection is closed",
    "terminating connection",
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's `.orig`) and its causes, outermost first."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 8:
        item = todo.pop(0)
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([getattr(item, "orig", None), item.__cause__])
    return seen


def _outage_kinds() -> tuple[type[Exception], ...]:
    """The exception classes that mean a store could not answer, whatever the message."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ReadOnlyError, RedisClusterException
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return (RedisConnectionError, RedisTimeoutError, RedisClusterException, ReadOnlyError,
            OSError, TimeoutError, PoolTimeout)


def is_store_outage(exc: BaseException) -> bool:
    """Redis or the database could not answer (down, starting, stopping, frozen, lost the
    revocation list again): fail closed with 503, never open. The one classification."""
    from sqlalchemy.exc import DBAPIError

    kinds = _outage_kinds()
    for item in _chain(exc):
        if isinstance(item, ServiceUnavailable) or isinstance(item, kinds):
            return True
        if isinstance(item, DBAPIError) and item.connection_invalidated:
            return True
        state = str(getattr(item, "sqlstate", None) or getattr(item, "pgcode", None) or "")
        if state in OUTAGE_SQLSTATES or state[:2] in OUTAGE_SQLSTATE_CLASSES:
            return True
        text = str(item).lower()
        if any(message in text for message in OUTAGE_MESSAGES):
            return True
    return False


def outage_types() -> tuple[type[Exception], ...]:
    """The classes to register a handler for, so that Starlette's ExceptionMiddleware answers
    them (a 503, quietly): the outage kinds, and DBAPIError as a whole (OperationalError and
    InterfaceError are two of its kinds; a connection killed mid-commit can surface as another,
    asyncpg's InternalClientError with connection_invalidated set). `problem` still tells an
    outage from a bug."""
    from sqlalchemy.exc import DBAPIError

    return (*_outage_kinds(), DBAPIError)


# ------------------------------------------------------------- the one error renderer
# Any failure becomes the `AuthError` the client sees (`problem`); the API's JSON is `render`,
# the pages' HTML is the `PageRenderer` the app installs (web/route.py). The hot path
# (/introspect, via `respond`) takes the same steps: an isinstance check and a dict.

#: The pages' form of an error: (request, the exception, its `problem`) -> an HTML response.
PageRenderer = Callable[[Request, BaseException, AuthError], Response]

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
SERVER_ERROR = "server_error"


def problem(exc: BaseException, scope: Scope) -> AuthError:
    """What the client is told about `exc` (the request's `scope`: its path and app).

    An `AuthError` as it is; a malformed request as `invalid_request` (RFC 6749 §5.2 on the
    OAuth endpoints, the contract's 422 with `detail` elsewhere); a store outage as 503 with
    Retry-After (fail closed); anything else as a 500 `server_error`, the trace logged on the
    server only. Never a trace, a SQL fragment or a secret in the answer."""
    if isinstance(exc, AuthError):
        return exc
    if isinstance(exc, RequestValidationError):
        if scope.get("path") in OAUTH_PATHS:
            return InvalidRequest("The request is missing or has a malformed parameter.")
        details = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        return AuthError("The request body is invalid.", code="invalid_request", status=422,
                         extra={"detail": details})
    if isinstance(exc, StarletteHTTPException):
        description = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and "app" in scope:  # RFC 9110 §15.5.6: every method served
            headers["Allow"] = allowed_methods(scope["app"], scope)
        return AuthError(description, code=HTTP_CODES.get(exc.status_code, "invalid_request"),
                         status=exc.status_code, headers=headers)
    if isinstance(exc, ClientDisconnect):  # the client left while sending its body: nobody
        # reads this answer, and it is no server error (no trace, not counted as a 500)
        return AuthError("The client closed the request.", code="client_closed_request",
                         status=400)
    if is_store_outage(exc):
        log.error("store unavailable: %s", type(exc).__name__)
        return ServiceUnavailable()
    log.exception("unhandled error on %s", scope.get("path"), exc_info=exc)
    return AuthError("An internal error occurred.", code=SERVER_ERROR, status=500)


def note_refusal(state: Any, exc: AuthError) -> None:
    """Remember why a request got 429 (the request's ASGI state), for the metrics."""
    if exc.status == 429 and isinstance(state, dict):
        state["refusal"] = exc.code


def render(exc: AuthError) -> Response:
    """The JSON form: `{"error", "error_description", ...}`, never cached (RFC 6749 §5.2), with
    the error's headers (RFC 6750 §3 `WWW-Authenticate`, `Retry-After`)."""
    headers = {"Cache-Control": "no-store", **exc.headers}
    return json_response(exc.body(), status=exc.status, headers=headers)


def respond(exc: BaseException, scope: Scope) -> Response:
    """`exc` as the API's JSON answer: its `problem`, noted for the metrics, rendered."""
    shown = problem(exc, scope)
    note_refusal(scope.get("state"), shown)
    return render(shown)


def wants_html(request: Request) -> bool:
    """A browser navigating (it asks for `text/html`); API clients keep the JSON errors."""
    return "text/html" in request.headers.get("accept", "")


def install_handlers(app: FastAPI, pages: PageRenderer | None = None) -> None:
    """The app-wide handlers: every failure leaves as the contract's JSON shape; a browser that
    hit an unknown path or a failure outside the pages gets `pages`' HTML (when installed)."""

    async def on_error(request: Request, exc: Exception) -> Response:
        return respond(exc, request.scope)

    async def on_browsable(request: Request, exc: Exception) -> Response:
        if pages is not None and wants_html(request):
            return pages(request, exc, problem(exc, request.scope))
        return respond(exc, request.scope)

    app.add_exception_handler(AuthError, on_error)
    app.add_exception_handler(RequestValidationError, on_error)
    app.add_exception_handler(StarletteHTTPException, on_browsable)
    # Registered by class so that Starlette's ExceptionMiddleware answers them (a 503, quietly);
    # anything else reaches the catch-all, which logs the trace on the server only.
    for outage in outage_types():
        app.add_exception_handler(outage, on_browsable)
    # A client gone mid-body too: the catch-all below sits in ServerErrorMiddleware, which
    # answers and then re-raises (a logged "Exception in ASGI application" for nobody's fault).
    app.add_exception_handler(ClientDisconnect, on_browsable)
    app.add_exception_handler(Exception, on_browsable)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, scope: Any) -> str:
    """The `Allow` value for the request's path: each method some route fully matches (the
    router's own matching, so included routers count), and HEAD wherever GET works."""
    from starlette.routing import Match

    methods = {method for method in METHODS
               if any(route.matches({**scope, "method": method})[0] == Match.FULL
                      for route in app.router.routes)}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))
