"""AuthsvcClient: the synchronous client (Flask, Django, scripts). Thread-safe."""

from __future__ import annotations

import os
import threading
from typing import Any

import httpx

from authsvc_client._common import (
    METADATA_PATH,
    SOCKET_OPTIONS,
    Base,
    Endpoints,
    answer_of,
    checked,
    endpoints_of,
    introspection_form,
    json_of,
    log,
    transport_error,
)
from authsvc_client.sse import EventParser


class AuthsvcClient(Base):
    """`AuthsvcClient(base_url, client_id, client_secret, cache_ttl=0)`.

    The constructor never touches the network. With `cache_ttl > 0`, the first `introspect()`
    starts a background thread on GET /revocations/stream; active answers are cached only
    while it is connected (see `authsvc_client.cache`). Keyword options: `timeout` (seconds,
    every request), `stream_timeout` (seconds of silence after which the stream counts as
    dead; authsvc sends a keep-alive every 15 s), `audience` (a token whose `aud` lacks it
    is inactive here), `max_connections`, `cache_size`.
    """

    def __init__(self, base_url: str, client_id: str, client_secret: str,
                 cache_ttl: float = 0, **options: Any) -> None:
        super().__init__(base_url, client_id, client_secret, cache_ttl, **options)
        self._http = self._pool()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._stream_thread: threading.Thread | None = None
        self._stream_response: httpx.Response | None = None
        self._pid = os.getpid()

    # ------------------------------------------------------------------ API
    def endpoints(self) -> Endpoints:
        """The endpoints from the metadata document (RFC 8414), fetched once."""
        if self._endpoints is None:
            response = self._send("GET", self.base_url + METADATA_PATH, auth=False)
            self._endpoints = endpoints_of(self.base_url, json_of(checked(response)))
        return self._endpoints

    def introspect(self, token: str, client_ip: str | None = None,
                   user_agent: str | None = None) -> dict[str, Any]:
        """RFC 7662: authsvc's answer for `token` as the end user's client presented it.
        Raises AuthsvcUnavailable when authsvc cannot answer (never "active")."""
        if self.cache_ttl > 0:
            self._ensure_stream()
        key, hit = self._cached(token, client_ip, user_agent)
        if hit is not None:
            return hit
        generation = self.cache.begin()
        url = self.endpoints().introspection
        form = introspection_form(token, client_ip, user_agent)
        answer = answer_of(self._send("POST", url, data=form), self.audience)
        self.cache.put(key, answer, generation, token)
        return answer

    def revoke(self, token: str, token_type_hint: str | None = None) -> None:
        """RFC 7009: revoke `token` (and its family, for a refresh token)."""
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        self.cache.drop_token(token)
        checked(self._send("POST", self.endpoints().revocation, data=form))

    def client_token(self, scope: str | None = None) -> str:
        """An access token for this client itself (client credentials, RFC 6749 §4.4), cached
        until shortly before it expires."""
        with self._lock:
            token = self._client_token.current()
            if token is not None:
                return token
            form = {"grant_type": "client_credentials"}
            if scope:
                form["scope"] = scope
            response = self._send("POST", self.endpoints().token, data=form)
            return self._client_token.store(json_of(checked(response)))

    @property
    def stream_connected(self) -> bool:
        return self.cache.live

    def close(self) -> None:
        self._closed.set()
        self.cache.down()
        response = self._stream_response
        if response is not None:
            try:
                response.close()
            except Exception:  # noqa: BLE001 - closing from another thread, best effort
                log.debug("closing the revocation stream failed", exc_info=True)
        self._http.close()

    def __enter__(self) -> AuthsvcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- internals
    def _pool(self) -> httpx.Client:
        transport = httpx.HTTPTransport(limits=self.limits, socket_options=SOCKET_OPTIONS)
        return httpx.Client(timeout=self.timeout, transport=transport)

    def _send(self, method: str, url: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        headers = self._headers() if auth else {"User-Agent": "authsvc-client"}
        try:
            return self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None

    def _ensure_stream(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread and connections are not ours
            self._pid = os.getpid()
            self._stream_thread = None
            self.cache.down()
            self._http = self._pool()
        thread = self._stream_thread
        if (thread is not None and thread.is_alive()) or self._closed.is_set():
            return
        with self._lock:
            if self._stream_thread is None or not self._stream_thread.is_alive():
                self._stream_thread = threading.Thread(
                    target=self._follow, name="authsvc-revocation-stream", daemon=True)
                self._stream_thread.start()

    def _follow(self) -> None:
        """Follow the revocation stream until closed, reconnecting with backoff."""
        delay = 0.1
        timeout = httpx.Timeout(self.timeout, read=self.stream_timeout)
        with httpx.Client(timeout=timeout) as http:
            while not self._closed.is_set():
                try:
                    url = self.endpoints().stream
                    with http.stream("GET", url, headers=self._stream_headers()) as response:
                        self._stream_response = response
                        checked(response)
                        parser = EventParser()
                        for line in response.iter_lines():
                            if self._closed.is_set():
                                break
                            if self._on_line(parser, line) == "ready":
                                delay = 0.1
                except Exception as exc:  # noqa: BLE001 - any failure: uncached until back
                    log.info("revocation stream down: %s", exc)
                finally:
                    self._stream_response = None
                    self.cache.down()
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)
