"""Throwaway Redis topologies on loopback ports: a three-node Cluster, a master with a Sentinel.

Each runs from a temporary directory of its own (nodes files, sentinel config) and is torn down
with its processes; nothing touches the shared Redis on 6379.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis as sync_redis


def free_ports(count: int) -> list[int]:
    """Ports free right now; a cluster bus port is PORT+10000, checked as well."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def _wait(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (sync_redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not happen in {timeout}s (last error: {last})")


class _Processes:
    def __init__(self, prefix: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, *args: str) -> None:
        self.processes.append(subprocess.Popen(
            ["redis-server", *args], cwd=self.dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisClusterServers(_Processes):
    """Three primaries, no replicas, all 16384 slots covered (`redis-cli --cluster create`)."""

    def __init__(self, nodes: int = 3) -> None:
        super().__init__("authsvc-cluster-")
        self.ports = free_ports(nodes)

    @property
    def url(self) -> str:
        """One startup node; the client discovers the others."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> RedisClusterServers:
        try:
            for port in self.ports:
                self.spawn("--port", str(port), "--bind", "127.0.0.1",
                           "--cluster-enabled", "yes",
                           "--cluster-config-file", str(self.dir / f"nodes-{port}.conf"),
                           "--cluster-node-timeout", "5000",
                           "--save", "", "--appendonly", "no", "--dir", str(self.dir))
            for port in self.ports:
                _wait(lambda p=port: sync_redis.Redis(port=p).ping(), f"redis-server :{port}")
            subprocess.run(
                ["redis-cli", "--cluster", "create",
                 *(f"127.0.0.1:{port}" for port in self.ports),
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )
            for port in self.ports:
                _wait(lambda p=port: b"cluster_state:ok" in sync_redis.Redis(
                    port=p).execute_command("CLUSTER", "INFO"), f"cluster_state:ok on :{port}")
        except BaseException:
            self.stop()
            raise
        return self

    def node(self, port: int) -> sync_redis.Redis:
        return sync_redis.Redis(port=port)

    def port_of_slot(self, slot: int) -> int:
        """The port of the primary serving `slot`."""
        for start, end, primary, *_replicas in self.node(self.ports[0]).execute_command(
                "CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return int(primary[1])
        raise LookupError(slot)


class SentinelServers(_Processes):
    """One master and one `redis-server --sentinel` watching it as `service`."""

    def __init__(self, service: str = "authsvc-master") -> None:
        super().__init__("authsvc-sentinel-")
        self.service = service
        self.master_port, self.sentinel_port = free_ports(2)

    @property
    def sentinels(self) -> str:
        return f"127.0.0.1:{self.sentinel_port}"

    def start(self) -> SentinelServers:
        try:
            self.spawn("--port", str(self.master_port), "--bind", "127.0.0.1",
                       "--save", "", "--appendonly", "no", "--dir", str(self.dir))
            _wait(lambda: sync_redis.Redis(port=self.master_port).ping(), "the master")
            config = self.dir / "sentinel.conf"  # a sentinel rewrites its own config file
            config.write_text(
                f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.dir}\n"
                f"sentinel monitor {self.service} 127.0.0.1 {self.master_port} 1\n"
                f"sentinel down-after-milliseconds {self.service} 5000\n",
                encoding="utf-8",
            )
            self.spawn(str(config), "--sentinel")
            _wait(lambda: sync_redis.Redis(port=self.sentinel_port).execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service), "the sentinel")
        except BaseException:
            self.stop()
            raise
        return self

    def master(self) -> sync_redis.Redis:
        """A plain client on the master's database 2 (the one the sentinel test configures)."""
        return sync_redis.Redis(port=self.master_port, db=2)
