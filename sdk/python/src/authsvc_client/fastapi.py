"""FastAPI dependencies: `token_required`, `admin_required`, `mfa_required`.

    from authsvc_client import AsyncAuthsvcClient
    from authsvc_client.fastapi import install, token_required

    authsvc = AsyncAuthsvcClient("http://authsvc:8000", "c_...", "secret", cache_ttl=30)
    app = FastAPI()
    install(app)  # refusals answer {"error", "error_description"}, as authsvc does

    @app.get("/me")
    async def me(token: dict = Depends(token_required(authsvc))):
        return {"sub": token["sub"]}

Each returns a dependency whose value is the introspection answer (RFC 7662). Refusals are
raised as `Refused`, an `HTTPException` carrying the status and `WWW-Authenticate`; `install`
renders its body in the contract's shape (without it FastAPI answers `{"detail": ...}`, with the
same status and headers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from authsvc_client import rules
from authsvc_client.aio import AsyncAuthsvcClient
from authsvc_client.errors import AuthsvcError

Answer = dict[str, Any]
Dependency = Callable[[Request], Awaitable[Answer]]


class Refused(HTTPException):
    def __init__(self, refusal: rules.Refusal) -> None:
        super().__init__(refusal.status, refusal.description,
                         {"Cache-Control": "no-store", **refusal.headers})
        self.refusal = refusal


def install(app: FastAPI) -> None:
    """Render refusals as `{"error", "error_description"}` (RFC 6749 §5.2 style)."""

    async def render(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refused)
        return JSONResponse(exc.refusal.body(), status_code=exc.status_code,
                            headers=exc.headers)

    app.add_exception_handler(Refused, render)


async def _answer(client: AsyncAuthsvcClient, request: Request, realm: str,
                  forward_client: bool) -> Answer:
    token = rules.bearer_token(request.headers.get("authorization"), realm)
    ip = request.client.host if forward_client and request.client else None
    agent = request.headers.get("user-agent") if forward_client else None
    try:
        answer = await client.introspect(token, client_ip=ip, user_agent=agent)
    except AuthsvcError as exc:
        raise rules.unavailable(exc) from None
    return rules.require_active(answer, realm)


def _dependency(client: AsyncAuthsvcClient, realm: str, forward_client: bool,
                *checks: Callable[[Answer], Answer]) -> Dependency:
    async def dependency(request: Request) -> Answer:
        try:
            answer = await _answer(client, request, realm, forward_client)
            for check in checks:
                answer = check(answer)
        except rules.Refusal as refusal:
            raise Refused(refusal) from None
        return answer

    return dependency


def token_required(client: AsyncAuthsvcClient, *, realm: str = "authsvc",
                   forward_client: bool = True) -> Dependency:
    """An active access token. `forward_client`: report the request's address and User-Agent
    (authsvc checks the token's client binding against them)."""
    return _dependency(client, realm, forward_client)


def admin_required(client: AsyncAuthsvcClient, role: str = "admin", *, realm: str = "authsvc",
                   forward_client: bool = True) -> Dependency:
    """An active access token whose user has `role` (403 otherwise)."""
    return _dependency(client, realm, forward_client, lambda a: rules.require_role(a, role))


def mfa_required(client: AsyncAuthsvcClient, max_age: int = 600, *, realm: str = "authsvc",
                 forward_client: bool = True) -> Dependency:
    """An active access token with a second factor at most `max_age` seconds old (RFC 9470)."""
    return _dependency(client, realm, forward_client,
                       lambda a: rules.require_mfa(a, max_age, realm))
