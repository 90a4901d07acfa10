"""Header size and header time are bounded in the server we ship (issue 13, item 7): a real
`authsvc serve`, plain sockets on 127.0.0.1.

- a request head over AUTHSVC_MAX_HEADER_BYTES is answered 431 and the connection closed, at
  once, before the excess is parsed: a 64 MB header costs nothing and stalls no one;
- a head that does not finish within AUTHSVC_HEADER_TIMEOUT (a partial request, a slowloris
  drip, a connection that sends nothing, a keep-alive connection's next request) is closed;
- normal requests, large bodies and headers up to the bound are untouched.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests import processes

pytestmark = pytest.mark.slow
MAX_HEAD = 8192
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def served(database_url: str, redis_url: str) -> Iterator[processes.Server]:
    env = processes.environment(database_url, redis_url,
                                AUTHSVC_MAX_HEADER_BYTES=str(MAX_HEAD),
                                AUTHSVC_HEADER_TIMEOUT=str(TIMEOUT))
    server = processes.Server(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def connect(server: processes.Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_all(sock: socket.socket, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def head(extra: bytes = b"") -> bytes:
    return b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra


def test_a_head_over_the_bound_is_431(served: processes.Server) -> None:
    with connect(served) as sock:
        sock.sendall(head(b"X-Big: " + b"a" * (MAX_HEAD + 100) + b"\r\n\r\n"))
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error": "request_header_too_large"' in answer


def test_a_64_mb_header_is_cut_off_at_once_and_stalls_no_one(served: processes.Server) -> None:
    results: dict[str, object] = {}

    def attack() -> None:
        with connect(served) as sock:
            started = time.monotonic()
            try:
                sock.sendall(head(b"X-Huge: "))
                for _ in range(64 * 16):  # 64 MB in 64 KB pieces
                    sock.sendall(b"a" * 65536)
            except OSError:  # the server closed the connection under us
                pass
            results["first_bytes"] = read_all(sock, timeout=5)[:40]
            results["seconds"] = time.monotonic() - started

    attackers = [threading.Thread(target=attack) for _ in range(2)]
    for thread in attackers:
        thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert httpx.get(f"{served.url}/health/live", timeout=5).status_code == 200
    assert time.monotonic() - started < 1.0  # the worker was not stalled
    for thread in attackers:
        thread.join(timeout=30)
    assert float(results["seconds"]) < 5, results  # type: ignore[arg-type]


def test_headers_up_to_the_bound_and_large_bodies_pass(served: processes.Server) -> None:
    fine = httpx.get(f"{served.url}/health/live",
                     headers={"X-Padding": "a" * (MAX_HEAD - 500)}, timeout=5)
    assert fine.status_code == 200
    # A 40 KB JSON body arrives with its head in one piece: the body is not counted here.
    body = b'{"email": "' + b"a" * 40_000 + b'@example.com", "password": "x"}'
    response = httpx.post(f"{served.url}/users", content=body,
                          headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 422, response.text  # the e-mail, not the size


@pytest.mark.parametrize("case", ["partial", "nothing", "drip"])
def test_a_head_that_does_not_finish_in_time_is_closed(
    served: processes.Server, case: str
) -> None:
    with connect(served) as sock:
        started = time.monotonic()
        if case == "partial":
            sock.sendall(head())
        elif case == "drip":  # one byte every 0.2 s: each byte does not restart the clock
            sock.settimeout(0.2)
            try:
                for byte in head(b"X-Slow: " + b"a" * 40):
                    sock.sendall(bytes([byte]))
                    time.sleep(0.2)
            except OSError:
                pass
        answer = read_all(sock, timeout=TIMEOUT + 5)
        took = time.monotonic() - started
    assert took < TIMEOUT + 2, took
    if case == "nothing":
        assert answer == b""
    else:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_a_keep_alive_connections_next_head_is_bounded_too(served: processes.Server) -> None:
    with connect(served) as sock:
        sock.sendall(head(b"\r\n"))
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 "), first[:100]
        started = time.monotonic()
        sock.sendall(head())  # the second request's head never ends
        answer = read_all(sock, timeout=TIMEOUT + 5)
        assert time.monotonic() - started < TIMEOUT + 2
    both = first + answer  # (the first answer's body may come in the second read)
    assert both.count(b"HTTP/1.1 200 ") == 1 and both.count(b"HTTP/1.1 408 ") == 1, both
    assert both.endswith(b'"The request headers did not arrive in time."}')
