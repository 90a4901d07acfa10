"""Real `authsvc` processes for the tests: the command line and `authsvc serve` on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[1] / "src")
JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789"


def environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update({
        "AUTHSVC_ENV": "testing",
        "AUTHSVC_DATABASE_URL": database_url,
        "AUTHSVC_REDIS_URL": redis_url,
        "AUTHSVC_JWT_SECRET": JWT_SECRET,
        "AUTHSVC_ENCRYPTION_KEY": "test-encryption-key-long-enough-0123456789",
        "AUTHSVC_ISSUER": "http://authsvc.test",
        "PYTHONPATH": SRC + os.pathsep + env.get("PYTHONPATH", ""),
        **extra,
    })
    return env


def cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "authsvc", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`authsvc serve` in a child process; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "authsvc", "serve", "--port", str(self.port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"authsvc serve exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"authsvc serve on port {self.port} did not become ready")

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextmanager
def serving(env: dict[str, str], port: int, cwd: Path, ready: str = "/health/live",
            timeout: float = 30.0) -> Iterator[str]:
    """`authsvc serve` on 127.0.0.1:`port` until the block ends; yields its base URL once
    `ready` answers 200 (RuntimeError with the server's output if it exits or never does)."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "authsvc", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{base}{ready}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                output = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"authsvc serve did not start:\n{output}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
