"""Security headers for the hosted pages (OWASP Secure Headers, HTTP Headers Cheat Sheet).

HTML pages and the redirects between them get a strict Content-Security-Policy (no inline
script: the templates have none), framing denied twice (CSP and X-Frame-Options for old
browsers), no referrer and no caching. Every response gets `nosniff`, and HSTS (RFC 6797) when
it travelled over HTTPS: the request's own scheme, or `X-Forwarded-Proto: https` from a trusted
proxy (a client's own claim is never believed; HSTS over plain HTTP is ignored anyway, §7.2).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authsvc.headers import HSTS, NOSNIFF, is_https

__all__ = ["CSP", "HSTS", "NOSNIFF", "PAGE_HEADERS", "SecurityHeaders", "is_https"]

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PAGE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(scope, self.trusted_proxies)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(message, https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secured(message: Message, https: bool) -> list[tuple[bytes, bytes]]:
    headers = list(message.get("headers", []))
    names = {name.lower() for name, _ in headers}
    content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
    page = content_type.startswith(b"text/html") or 300 <= message["status"] < 400
    extra = [NOSNIFF] + ([HSTS] if https else [])
    if page:
        # A page's policy wins over any cache header set on the way (no-store on every page).
        headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
        names.discard(b"cache-control")
        extra += list(PAGE_HEADERS)
    return headers + [(n, v) for n, v in extra if n not in names]
