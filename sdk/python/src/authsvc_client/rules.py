"""The rules behind the decorators, free of any framework: a token → the answer or a refusal.

Refusals answer as authsvc does: RFC 6750 §3 (`WWW-Authenticate: Bearer`, a bare `realm` when
no token was sent, `error="invalid_token"` for one that is not active), 403 for a missing role,
RFC 9470 §3 `insufficient_user_authentication` with `max_age` for a second factor that is
missing or too old, and 503 whenever authsvc cannot answer (fail closed, never allowed).
"""

from __future__ import annotations

import time
from typing import Any

from authsvc_client.errors import AuthsvcError, AuthsvcUnavailable

INVALID = "The access token is invalid, expired or revoked."


class Refusal(Exception):  # noqa: N818 - a refusal is raised like an error
    """An answer to send instead of the route's: status, RFC 6749-style body, headers."""

    def __init__(self, status: int, error: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(realm: str, error: str | None = None, description: str | None = None,
              **params: int) -> dict[str, str]:
    parts = [f"realm={_quoted(realm)}"]
    if error:
        parts.append(f"error={_quoted(error)}")
    if description:
        parts.append(f"error_description={_quoted(description)}")
    parts += [f"{name}={value}" for name, value in params.items()]
    return {"WWW-Authenticate": "Bearer " + ", ".join(parts)}


def bearer_token(authorization: str | None, realm: str) -> str:
    """RFC 6750 §2.1: the token of `Authorization: Bearer <token>`; a Refusal without one."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Refusal(401, "invalid_token", "A bearer access token is required.",
                      challenge(realm))
    token = token.strip()
    if not token or len(token) > 8192:
        raise Refusal(401, "invalid_token", INVALID, challenge(realm, "invalid_token", INVALID))
    return token


def unavailable(exc: AuthsvcError) -> Refusal:
    retry = exc.retry_after if isinstance(exc, AuthsvcUnavailable) and exc.retry_after else 5
    return Refusal(503, "temporarily_unavailable",
                   "The authorization service cannot answer right now; try again shortly.",
                   {"Retry-After": str(retry)})


def require_active(answer: dict[str, Any], realm: str) -> dict[str, Any]:
    """An active *access* token (a refresh token is not a bearer credential here)."""
    if answer.get("active") is not True or answer.get("token_type", "access_token") != (
            "access_token"):
        raise Refusal(401, "invalid_token", INVALID, challenge(realm, "invalid_token", INVALID))
    return answer


def require_role(answer: dict[str, Any], role: str) -> dict[str, Any]:
    roles = answer.get("roles")
    if not isinstance(roles, list) or role not in roles:
        raise Refusal(403, "forbidden", f"This needs the role '{role}'.")
    return answer


def require_mfa(answer: dict[str, Any], max_age: int, realm: str,
                now: float | None = None) -> dict[str, Any]:
    """RFC 9470: `amr` has `mfa` and `auth_time` is at most `max_age` seconds ago."""
    amr = answer.get("amr")
    auth_time = answer.get("auth_time")
    now = time.time() if now is None else now
    recent = isinstance(auth_time, int | float) and now - auth_time <= max_age
    if not (isinstance(amr, list) and "mfa" in amr and recent):
        description = "A recent second factor is required."
        raise Refusal(401, "insufficient_user_authentication", description,
                      challenge(realm, "insufficient_user_authentication", description,
                                max_age=max_age))
    return answer
