"""The security headers of every answer (OWASP HTTP Headers Cheat Sheet), shared by the
middleware (web/headers.py `SecurityHeaders`) and the hot path it does not wrap (/introspect).

Every response gets `nosniff`, and HSTS (RFC 6797) when it travelled over HTTPS: the request's
own scheme, or `X-Forwarded-Proto: https` from a trusted proxy (never a client's own claim).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import Scope

from authsvc.net import is_trusted_proxy

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NOSNIFF = (b"x-content-type-options", b"nosniff")
# What SecurityHeaders adds to a JSON answer, precomputed for the hot path that skips it
# (main.App serves POST /introspect before the middleware stack).
API_HEADERS: tuple[tuple[bytes, bytes], ...] = (NOSNIFF,)
API_HEADERS_HTTPS: tuple[tuple[bytes, bytes], ...] = (NOSNIFF, HSTS)


def api_headers(scope: Scope, trusted_proxies: tuple[str, ...]) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers of a non-page answer: the same as SecurityHeaders gives it."""
    if scope.get("scheme") == "https":
        return API_HEADERS_HTTPS
    if not trusted_proxies:
        return API_HEADERS
    return API_HEADERS_HTTPS if is_https(scope, trusted_proxies) else API_HEADERS


def is_https(scope: Scope, trusted_proxies: tuple[str, ...]) -> bool:
    if scope.get("scheme") == "https":
        return True
    peer = scope["client"][0] if scope.get("client") else ""
    if not is_trusted_proxy(peer, trusted_proxies):
        return False
    forwarded = Headers(scope=scope).get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"
