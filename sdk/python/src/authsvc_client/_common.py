"""What the sync and async clients share: endpoints from the metadata, requests, answers."""

from __future__ import annotations

import base64
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from authsvc_client.cache import AnswerCache, cache_key
from authsvc_client.errors import AuthsvcRefused, AuthsvcUnavailable
from authsvc_client.sse import EventParser

log = logging.getLogger("authsvc_client")

METADATA_PATH = "/.well-known/oauth-authorization-server"  # RFC 8414 §3
USER_AGENT = "authsvc-client"
INACTIVE: dict[str, Any] = {"active": False}
# Requests are small and answered at once: without TCP_NODELAY the body, written after the
# headers, waits for the peer's delayed ACK (measured: ~10x fewer sequential requests).
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@dataclass(frozen=True, slots=True)
class Endpoints:
    issuer: str
    token: str
    introspection: str
    revocation: str
    stream: str


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def endpoints_of(base_url: str, metadata: Any) -> Endpoints:
    """The endpoints of an RFC 8414 document fetched from `base_url`.

    An endpoint on the issuer's own origin is reached through `base_url` (same path): services
    often reach authsvc by an internal address while the issuer is its public one, and the
    client secret then never leaves the address the operator configured."""
    if not isinstance(metadata, dict) or not isinstance(metadata.get("issuer"), str):
        raise AuthsvcUnavailable("authsvc's metadata document has no issuer")
    issuer = metadata["issuer"]

    def endpoint(name: str, default_path: str) -> str:
        url = metadata.get(name)
        if not isinstance(url, str) or not url:
            return base_url + default_path
        if _origin(url) == _origin(issuer):
            parts = urlsplit(url)
            return base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return url

    return Endpoints(
        issuer=issuer,
        token=endpoint("token_endpoint", "/token"),
        introspection=endpoint("introspection_endpoint", "/introspect"),
        revocation=endpoint("revocation_endpoint", "/revoke"),
        stream=endpoint("revocation_stream_endpoint", "/revocations/stream"),
    )


def basic_auth(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded, then Base64."""
    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def transport_error(exc: Exception) -> AuthsvcUnavailable:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "unreachable"
    return AuthsvcUnavailable(f"authsvc {kind}: {type(exc).__name__}")


def checked(response: httpx.Response) -> httpx.Response:
    """The response if it is a success; AuthsvcUnavailable for 5xx and 429, AuthsvcRefused for
    another 4xx."""
    status = response.status_code
    if status < 400:
        return response
    retry = response.headers.get("retry-after")
    retry_after = int(retry) if retry and retry.isdigit() else None
    if status >= 500 or status == 429:
        raise AuthsvcUnavailable(f"authsvc answered {status}", status=status,
                                 retry_after=retry_after)
    error, description = "error", ""
    try:
        body = response.json()
        error = str(body.get("error", error))
        description = str(body.get("error_description", ""))
    except (ValueError, AttributeError):
        pass
    raise AuthsvcRefused(status, error, description)


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise AuthsvcUnavailable("authsvc answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise AuthsvcUnavailable("authsvc answered something that is not a JSON object")
    return body


def introspection_form(token: str, client_ip: str | None, user_agent: str | None) -> dict:
    form = {"token": token, "token_type_hint": "access_token"}
    if client_ip:
        form["client_ip"] = client_ip
    if user_agent:
        form["client_user_agent"] = user_agent
    return form


def answer_of(response: httpx.Response, audience: str | None) -> dict[str, Any]:
    """RFC 7662 §2.2's answer; a token not for `audience` (when set) is inactive here."""
    body = json_of(checked(response))
    if not isinstance(body.get("active"), bool):
        raise AuthsvcUnavailable("authsvc's introspection answer has no 'active'")
    if body["active"] and audience is not None:
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if audience not in audiences:
            return dict(INACTIVE)
    return body


class ClientToken:
    """A client-credentials access token, kept until shortly before it expires."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.renew_at = 0.0

    def current(self) -> str | None:
        return self.value if self.value and time.monotonic() < self.renew_at else None

    def store(self, body: dict[str, Any]) -> str:
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthsvcUnavailable("authsvc's token answer has no access_token")
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 60.0
        margin = min(60.0, max(1.0, lifetime * 0.1))
        self.value, self.renew_at = token, time.monotonic() + lifetime - margin
        return token


class Base:
    """Settings and the pure parts of AuthsvcClient and AsyncAuthsvcClient."""

    def __init__(
        self, base_url: str, client_id: str, client_secret: str, cache_ttl: float = 0, *,
        timeout: float = 5.0, stream_timeout: float = 45.0, audience: str | None = None,
        max_connections: int = 100, cache_size: int = 10_000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._auth = basic_auth(client_id, client_secret)
        self.cache_ttl = float(cache_ttl)
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self.audience = audience
        self.limits = httpx.Limits(max_connections=max_connections,
                                   max_keepalive_connections=max_connections)
        self.cache = AnswerCache(self.cache_ttl, max_entries=cache_size)
        self._endpoints: Endpoints | None = None
        self._client_token = ClientToken()
        self.last_event_id: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._auth, "User-Agent": USER_AGENT}

    def _stream_headers(self) -> dict[str, str]:
        headers = {**self._headers(), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def _cached(self, token: str, client_ip: str | None,
                user_agent: str | None) -> tuple[str, dict[str, Any] | None]:
        key = cache_key(token, client_ip, user_agent)
        return key, self.cache.get(key) if self.cache_ttl > 0 else None

    def _on_line(self, parser: EventParser, line: str) -> str | None:
        """One line of the revocation stream (a keep-alive comment too: the stream is alive);
        returns the type of the event it completed, if any."""
        self.cache.heard()
        event = parser.feed(line)
        if event is None:
            return None
        self._on_event(event.type, event.data, event.id)
        return event.type

    def _on_event(self, kind: str, data: str, event_id: str | None) -> None:
        """One event of the revocation stream, applied to the cache."""
        if event_id:
            self.last_event_id = event_id
        if kind == "ready":
            # Silent for longer than two keep-alives: counted as down, even before the read
            # times out (a network that drops packets without closing the connection).
            try:
                keepalive = float(json.loads(data).get("keepalive", 15))
            except (ValueError, AttributeError, TypeError):
                keepalive = 15.0
            self.cache.up(stale_after=min(2 * keepalive + 1, self.stream_timeout))
        elif kind == "reset":
            self.cache.reset()
        elif kind == "revoked":
            try:
                event = json.loads(data)
            except ValueError:
                event = {}
            self.cache.drop(event if isinstance(event, dict) else {})
