"""AsyncAuthsvcClient: the asyncio client (FastAPI, Starlette, aiohttp). One event loop."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
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


def _spare_failed_imports() -> None:
    """httpcore imports `sniffio` on every async request to tell asyncio from trio. When it is
    not installed each attempt searches sys.path anew (measured here: async requests ~10x
    slower). Marking it absent makes that import fail at once, with the same outcome (asyncio);
    nothing could import it anyway."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_spare_failed_imports()


class AsyncAuthsvcClient(Base):
    """`AsyncAuthsvcClient(base_url, client_id, client_secret, cache_ttl=0)`: AuthsvcClient's
    twin for asyncio. The constructor never touches the network; with `cache_ttl > 0` the
    first `introspect()` starts a task on GET /revocations/stream in the running loop."""

    def __init__(self, base_url: str, client_id: str, client_secret: str,
                 cache_ttl: float = 0, **options: Any) -> None:
        super().__init__(base_url, client_id, client_secret, cache_ttl, **options)
        transport = httpx.AsyncHTTPTransport(limits=self.limits, socket_options=SOCKET_OPTIONS)
        self._http = httpx.AsyncClient(timeout=self.timeout, transport=transport)
        self._stream_task: asyncio.Task[None] | None = None
        self._token_lock: asyncio.Lock | None = None
        self._closed = False

    # ------------------------------------------------------------------ API
    async def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            response = await self._send("GET", self.base_url + METADATA_PATH, auth=False)
            self._endpoints = endpoints_of(self.base_url, json_of(checked(response)))
        return self._endpoints

    async def introspect(self, token: str, client_ip: str | None = None,
                         user_agent: str | None = None) -> dict[str, Any]:
        """RFC 7662: authsvc's answer for `token`; AuthsvcUnavailable when it cannot answer."""
        if self.cache_ttl > 0:
            self._ensure_stream()
        key, hit = self._cached(token, client_ip, user_agent)
        if hit is not None:
            return hit
        generation = self.cache.begin()
        url = (await self.endpoints()).introspection
        form = introspection_form(token, client_ip, user_agent)
        answer = answer_of(await self._send("POST", url, data=form), self.audience)
        self.cache.put(key, answer, generation, token)
        return answer

    async def revoke(self, token: str, token_type_hint: str | None = None) -> None:
        form = {"token": token}
        if token_type_hint:
            form["token_type_hint"] = token_type_hint
        self.cache.drop_token(token)
        checked(await self._send("POST", (await self.endpoints()).revocation, data=form))

    async def client_token(self, scope: str | None = None) -> str:
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:
            token = self._client_token.current()
            if token is not None:
                return token
            form = {"grant_type": "client_credentials"}
            if scope:
                form["scope"] = scope
            response = await self._send("POST", (await self.endpoints()).token, data=form)
            return self._client_token.store(json_of(checked(response)))

    @property
    def stream_connected(self) -> bool:
        return self.cache.live

    async def aclose(self) -> None:
        self._closed = True
        self.cache.down()
        task, self._stream_task = self._stream_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._http.aclose()

    async def __aenter__(self) -> AsyncAuthsvcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------- internals
    async def _send(self, method: str, url: str, *, auth: bool = True,
                    **kwargs: Any) -> httpx.Response:
        headers = self._headers() if auth else {"User-Agent": "authsvc-client"}
        try:
            return await self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None

    def _ensure_stream(self) -> None:
        task = self._stream_task
        if self._closed or (task is not None and not task.done()):
            return
        self._stream_task = asyncio.get_running_loop().create_task(
            self._follow(), name="authsvc-revocation-stream")

    async def _follow(self) -> None:
        delay = 0.1
        timeout = httpx.Timeout(self.timeout, read=self.stream_timeout)
        async with httpx.AsyncClient(timeout=timeout) as http:
            while not self._closed:
                try:
                    url = (await self.endpoints()).stream
                    async with http.stream("GET", url, headers=self._stream_headers()) as response:
                        checked(response)
                        parser = EventParser()
                        async for line in response.aiter_lines():
                            if self._on_line(parser, line) == "ready":
                                delay = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure: uncached until back
                    log.info("revocation stream down: %s", exc)
                finally:
                    self.cache.down()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
