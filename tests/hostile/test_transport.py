"""Oversized bodies (413 before parsing, with Content-Length and chunked), duplicate form
parameters, and headers with CR/LF — through httpx and raw sockets against a real uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from tests import flows, infra
from tests.faults.servers import free_port

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PATHS = ["/token", "/introspect", "/revoke", "/users", "/users/me/password", "/mfa/challenge",
         "/mfa/step-up"]


def shaped(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]


@pytest_asyncio.fixture
async def served(app: Any) -> AsyncIterator[int]:
    """The session's app behind a real uvicorn (HTTP/1.1 parser included) on loopback."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", http="h11"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def raw(port: int, request: bytes, *, body_chunks: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=10)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize("path", PATHS)
async def test_a_body_over_the_limit_is_refused_before_parsing(app: Any, path: str,
                                                               state: Any) -> None:
    limit = state.settings.max_body_bytes
    async with infra.Api(app) as api:
        big = await api.post(path, content=b"a=" + b"x" * limit, headers=FORM)
        shaped(big, 413, "request_too_large")

        async def stream() -> AsyncIterator[bytes]:
            for _ in range(limit // 4096 + 2):
                yield b"x" * 4096

        chunked = await api.post(path, content=stream(), headers=FORM)
        shaped(chunked, 413, "request_too_large")
        lying = await api.post(path, content=b"a=1", headers={**FORM, "Content-Length": "x1"})
        assert lying.status_code in (400, 413)


async def test_413_without_reading_the_body_on_a_real_server(served: int, state: Any) -> None:
    limit = state.settings.max_body_bytes
    # Announces a huge body and sends none: answered at once, nothing is waited for or parsed.
    answer = await raw(served, (
        f"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {limit * 1000}\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"request_too_large"' in answer
    chunk = b"x" * 8192
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(limit // 8192 + 2)]
    answer = await raw(served, (
        b"POST /introspect HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nTransfer-Encoding: chunked\r\n\r\n"), body_chunks=[*chunks, b"0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


async def test_headers_with_cr_or_lf(served: int, app: Any) -> None:
    injected = {"X-Request-ID": "a\r\nSet-Cookie: x=1"}
    # httpx refuses to send them over a real connection ...
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served}") as http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get("/health/live", headers=injected)
    # ... an ASGI caller can: the value is not echoed, no header is injected.
    async with infra.Api(app) as api:
        response = await api.get("/health/live", headers=injected)
        assert response.status_code == 200 and "set-cookie" not in response.headers
        assert "\n" not in response.headers["x-request-id"]
    # ... so raw bytes: a bare CR inside a value, an obs-fold, a NUL, a bad name: the HTTP parser
    # refuses them with a 400 (or unfolds the obs-fold); nothing unsafe is echoed back.
    for header in (b"X-Request-ID: abc\rSet-Cookie: x=1\r\n", b"X-Request-ID: abc\r\n x\r\n",
                   b"X-Request-ID: a\x00b\r\n", b"Bad Name: x\r\n"):
        answer = await raw(served, b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n")
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 200")), answer
        assert b"set-cookie" not in head and b"x-request-id: abc" not in head, answer
    # A request id the service does not like is replaced, never echoed.
    answer = await raw(served, b"GET /health/live HTTP/1.1\r\nHost: x\r\n"
                               b"X-Request-ID: <script>%0d%0a</script>\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and b"<script>" not in answer


@pytest.mark.parametrize(("path", "form"), [
    ("/token", "grant_type=password&username=a%40example.com&password=x&password=y"),
    ("/token", "grant_type=password&grant_type=refresh_token&refresh_token=x"),
    ("/token", "grant_type=refresh_token&refresh_token=a&refresh_token=b"),
    ("/introspect", "token=a&token=b"),
    ("/introspect", "token=a&token_type_hint=x&token_type_hint=y"),
    ("/revoke", "token=a&token=b"),
])
async def test_duplicate_form_parameters_are_refused(
    app: Any, path: str, form: str, service_client: tuple[str, str]
) -> None:
    async with infra.Api(app) as api:
        response = await api.post(path, content=form.encode(),
                                  headers={**FORM, **flows.basic(*service_client)})
    shaped(response, 400, "invalid_request")
