"""A k-anonymity range API on 127.0.0.1, in the format of api.pwnedpasswords.com: a real HTTP
server (http.server in a thread) the breached-password tests talk to."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PADDING_LINES = 800  # HIBP pads every answer to between 800 and 1,000 lines


def sha1_hex(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


class RangeServer:
    """`GET /range/{5 hex}` → `SUFFIX:COUNT` lines; with `Add-Padding: true`, decoy suffixes
    of count 0 as well. `delay` (seconds) and `status` simulate a slow or failing service."""

    def __init__(self, breached: Iterable[str] = ()) -> None:
        self.counts: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        self.status = 200
        for password in breached:
            self.add(password)
        self._server: ThreadingHTTPServer | None = None

    def add(self, password: str, count: int = 42) -> None:
        self.counts[sha1_hex(password)] = count

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, prefix: str, padded: bool) -> str:
        lines = [f"{digest[5:]}:{count}" for digest, count in self.counts.items()
                 if digest.startswith(prefix)]
        if padded:
            lines += [f"{secrets.token_hex(18).upper()[:35]}:0" for _ in range(PADDING_LINES)]
        return "\r\n".join(lines)

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.requests.append({"path": self.path, "headers": dict(self.headers)})
                if owner.delay:
                    time.sleep(owner.delay)
                prefix = self.path.removeprefix("/range/")
                if not self.path.startswith("/range/") or len(prefix) != 5:
                    self.send_error(400)
                    return
                body = owner.answer(prefix.upper(),
                                    self.headers.get("Add-Padding", "").lower() == "true")
                if owner.status != 200:
                    self.send_error(owner.status)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
