"""The authorization request (RFC 6749 §4.1.1, OpenID Connect Core 1.0 §3.1.2.1, RFC 7636 §4.3),
checked in the order the specs require:

1. the client and the redirect URI: unknown or unregistered → `Unredirectable` (an error page,
   never a redirect: RFC 6749 §4.1.2.1, RFC 9700 §4.1.3: redirect URIs compare exactly);
2. everything else → `AuthorizeError`, sent back to the redirect URI with `state` and `iss`.

PKCE is required of every client, with S256 only (RFC 9700 §2.1.1; `plain` and a missing method,
which means `plain`, are refused).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from authsvc.clients.registration import AUTHORIZATION_CODE
from authsvc.clients.service import ClientView
from authsvc.tokens.service import validate_scope

CHALLENGE = re.compile(r"\A[A-Za-z0-9_-]{43}\Z")  # base64url of a SHA-256, no padding
PROMPTS = frozenset({"none", "login", "consent"})
SINGLE = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
          "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
          "response_mode")


class Unredirectable(Exception):
    """The request cannot be answered at its redirect URI (unknown client or URI)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthorizeError(Exception):
    """An error returned to the client at its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: tuple[str, ...]
    max_age: int | None
    login_hint: str | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "prompt": list(self.prompt)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuthorizationRequest:
        fields = {k: data[k] for k in cls.__dataclass_fields__}
        return cls(**{**fields, "prompt": tuple(fields["prompt"])})

    @property
    def scopes(self) -> list[str]:
        return self.scope.split(" ")


def single_values(items: Iterable[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """The query as a dict, and the names sent more than once (RFC 6749 §3.1: refused)."""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in items:
        if name in params:
            repeated.add(name)
        params[name] = value
    return params, repeated


def check_target(params: dict[str, str], repeated: set[str], client: ClientView | None) -> str:
    """Step 1: the registered redirect URI the answer goes to, or Unredirectable."""
    if {"client_id", "redirect_uri"} & repeated:
        raise Unredirectable("The request names its app or its return address twice.")
    if client is None or not client.active:
        raise Unredirectable("The app that sent you here is not registered with this service.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise Unredirectable("The app asked to send you back to an address it has not "
                             "registered, so this service will not send you there.")
    return redirect_uri


def check_request(params: dict[str, str], repeated: set[str], client: ClientView,
                  redirect_uri: str) -> AuthorizationRequest:
    """Step 2: the rest of the request, or AuthorizeError."""
    if repeated:
        raise AuthorizeError("invalid_request", f"Parameter sent twice: {sorted(repeated)[0]}.")
    if "request" in params:
        raise AuthorizeError("request_not_supported", "Request objects are not supported.")
    if "request_uri" in params:
        raise AuthorizeError("request_uri_not_supported", "request_uri is not supported.")
    if params.get("response_type") != "code":
        raise AuthorizeError("unsupported_response_type", "Only response_type=code is offered.")
    if params.get("response_mode", "query") != "query":
        raise AuthorizeError("invalid_request", "Only response_mode=query is offered.")
    if AUTHORIZATION_CODE not in client.grant_types:
        raise AuthorizeError("unauthorized_client",
                             "This client may not use the authorization code flow.")
    challenge = params.get("code_challenge")
    if not challenge:
        raise AuthorizeError("invalid_request", "PKCE is required: send code_challenge "
                             "with code_challenge_method=S256.")
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeError("invalid_request", "code_challenge_method must be S256 "
                             "(plain is not accepted).")
    if not CHALLENGE.match(challenge):
        raise AuthorizeError("invalid_request", "code_challenge is not a base64url SHA-256.")
    scope = checked_scope(params.get("scope"), client.scopes)
    prompt = tuple(dict.fromkeys((params.get("prompt") or "").split()))
    if set(prompt) - PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise AuthorizeError("invalid_request", "prompt is none, or login and/or consent.")
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isdigit() and len(max_age) <= 10):
        raise AuthorizeError("invalid_request", "max_age is a number of seconds.")
    for name, limit in (("state", 2048), ("nonce", 512), ("login_hint", 320)):
        if len(params.get(name) or "") > limit:
            raise AuthorizeError("invalid_request", f"{name} is too long.")
    return AuthorizationRequest(
        client_id=client.client_id, redirect_uri=redirect_uri, scope=scope,
        state=params.get("state"), nonce=params.get("nonce") or None, code_challenge=challenge,
        prompt=prompt, max_age=int(max_age) if max_age is not None else None,
        login_hint=params.get("login_hint") or None, created_at=time.time(),
    )


def checked_scope(requested: str | None, allowed: Iterable[str]) -> str:
    """The requested scopes if each is on the allow-list, else `invalid_scope`."""
    from authsvc.errors import AuthError

    try:
        scope = validate_scope(requested)
    except AuthError as exc:
        raise AuthorizeError("invalid_scope", exc.description) from None
    if not scope:
        raise AuthorizeError("invalid_scope", "scope is required (openid for an ID token).")
    outside = [s for s in scope.split(" ") if s not in set(allowed)]
    if outside:
        raise AuthorizeError("invalid_scope", f"Scope not allowed for this client: {outside[0]}.")
    return scope


def answer_uri(redirect_uri: str, params: dict[str, str | None]) -> str:
    """The redirect URI with the answer added to its query (RFC 6749 §4.1.2; the registered
    URI's own query is kept, §3.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"
