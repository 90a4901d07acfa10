"""Flask decorators: `token_required`, `admin_required`, `mfa_required`; the introspection
answer (RFC 7662) in `flask.g.token`.

    from authsvc_client import AuthsvcClient
    from authsvc_client.flask import token_required

    authsvc = AuthsvcClient("http://authsvc:8000", "c_...", "secret", cache_ttl=30)

    @app.get("/me")
    @token_required(authsvc)
    def me():
        return {"sub": g.token["sub"]}
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, jsonify, request

from authsvc_client import rules
from authsvc_client.client import AuthsvcClient
from authsvc_client.errors import AuthsvcError

View = TypeVar("View", bound=Callable[..., Any])
Answer = dict[str, Any]


def _answer(client: AuthsvcClient, realm: str, forward_client: bool) -> Answer:
    token = rules.bearer_token(request.headers.get("Authorization"), realm)
    ip = request.remote_addr if forward_client else None
    agent = request.headers.get("User-Agent") if forward_client else None
    try:
        answer = client.introspect(token, client_ip=ip, user_agent=agent)
    except AuthsvcError as exc:
        raise rules.unavailable(exc) from None
    return rules.require_active(answer, realm)


def _decorator(client: AuthsvcClient, realm: str, forward_client: bool,
               *checks: Callable[[Answer], Answer]) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                answer = _answer(client, realm, forward_client)
                for check in checks:
                    answer = check(answer)
            except rules.Refusal as refusal:
                response = jsonify(refusal.body())
                response.status_code = refusal.status
                response.headers.update({"Cache-Control": "no-store", **refusal.headers})
                return response
            g.token = answer
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def token_required(client: AuthsvcClient, *, realm: str = "authsvc",
                   forward_client: bool = True) -> Callable[[View], View]:
    """An active access token; `forward_client` reports the address and User-Agent."""
    return _decorator(client, realm, forward_client)


def admin_required(client: AuthsvcClient, role: str = "admin", *, realm: str = "authsvc",
                   forward_client: bool = True) -> Callable[[View], View]:
    """An active access token whose user has `role` (403 otherwise)."""
    return _decorator(client, realm, forward_client, lambda a: rules.require_role(a, role))


def mfa_required(client: AuthsvcClient, max_age: int = 600, *, realm: str = "authsvc",
                 forward_client: bool = True) -> Callable[[View], View]:
    """An active access token with a second factor at most `max_age` seconds old (RFC 9470)."""
    return _decorator(client, realm, forward_client,
                      lambda a: rules.require_mfa(a, max_age, realm))
