"""A PostgreSQL server of the test's own (initdb into a temp dir, a spare loopback port), to stop,
start and kill at will while the run's shared server stays up."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import asyncpg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return path


class PostgresServer:
    """`initdb` (trust auth) once, then `start()` / `stop()` / `kill()` as often as needed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="authsvc-pg-")
        self.data = os.path.join(self.dir, "data")
        self._as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = ["runuser", "-u", "postgres", "--", *argv] if self._as_postgres else list(argv)
        return subprocess.run(command, check=check, capture_output=True, timeout=60)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=60")
        self._run(_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w",
                  "-t", "30", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` closes every session; `immediate` is a crash (no shutdown checkpoint)."""
        self._run(_bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop", check=False)

    @property
    def running(self) -> bool:
        return self._run(_bin("pg_ctl"), "-D", self.data, "status", check=False).returncode == 0

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    async def create_database(self, name: str) -> str:
        """An empty database, migrated with the real migrations; returns its SQLAlchemy URL."""
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        from authsvc.config import load_settings
        from authsvc.db import make_engine
        from authsvc.migrate import upgrade

        url = self.url(name)
        engine = make_engine(load_settings(env="testing", database_url=url, redis_url="redis://x"))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        return url

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)],
                                  capture_output=True, text=True).stdout.split()
        return [postmaster, *(int(pid) for pid in children)]

    def freeze(self) -> None:
        """SIGSTOP the whole server: connections stay open and nothing answers."""
        self._frozen = self.pids()
        for pid in self._frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in getattr(self, "_frozen", []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._frozen = []

    async def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn = await asyncpg.connect(self.dsn(), timeout=2)
                await conn.close()
                return
            except (OSError, asyncpg.PostgresError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


class RefusingPostgres:
    """A TCP server that answers every PostgreSQL startup with an ErrorResponse, as a server
    starting up, in recovery or shutting down does (SQLSTATE 57P03 "cannot_connect_now"), or
    that resets each connection at once (`reset=True`)."""

    def __init__(self, sqlstate: str = "57P03",
                 message: str = "the database system is not yet accepting connections",
                 *, reset: bool = False) -> None:
        self.sqlstate, self.message, self.reset = sqlstate, message, reset
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, database: str = "authsvc") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _error(self) -> bytes:
        fields = b"".join(kind + text.encode() + b"\0" for kind, text in (
            (b"S", "FATAL"), (b"V", "FATAL"), (b"C", self.sqlstate), (b"M", self.message)))
        body = fields + b"\0"
        return b"E" + struct.pack("!I", len(body) + 4) + body

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                if self.reset:  # RST instead of FIN: "connection reset by peer"
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
                    continue
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while True:
            head = conn.recv(8)
            if len(head) < 8:
                return
            length, code = struct.unpack("!II", head)
            if length > 8:
                conn.recv(length - 8)
            if code == 80877103:  # SSLRequest: "no"
                conn.sendall(b"N")
                continue
            conn.sendall(self._error())
            return

    def close(self) -> None:
        self._stop = True
        self.sock.close()
