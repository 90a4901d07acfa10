"""The library's exceptions: one for "authsvc cannot answer" (fail closed), one for a refusal."""

from __future__ import annotations


class AuthsvcError(Exception):
    """authsvc could not be used: the caller must refuse, never allow."""


class AuthsvcUnavailable(AuthsvcError):
    """authsvc is unreachable, timed out, answered 5xx (or 429), or answered nonsense.

    `retry_after`: seconds, when authsvc said (its `Retry-After`)."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthsvcRefused(AuthsvcError):
    """authsvc refused this client's request (4xx), e.g. `invalid_client`: a misconfiguration."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"authsvc answered {status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
