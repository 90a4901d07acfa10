"""The benchmark harness: authsvc's hot paths against the limits of this machine, same run.

    python benchmarks/run.py                 # 1 and 2 workers, 10 s a run, 2 runs a row
    python benchmarks/run.py --quick         # smoke run: 1 worker, 3 s, 1 run
    python benchmarks/run.py --port 18000    # base port: peer +1, N workers' servers +10N..+10N+5

Once a run: `pgbench -N` on a database of its own (the PostgreSQL write limit), and the peer,
panva's oidc-provider in one Node process (benchmarks/peer): its client credentials and its
introspection. Then for each worker count it serves, one after the other on 127.0.0.1 (never two
servers at once):
  1. authsvc itself (`authsvc serve --workers N`, the production profile at INFO, secrets made
     here, mail to the log): introspection, GET /users/me, introspection at half its maximum
     rate, client credentials, refresh chains (each response's refresh token spent by the next
     request on that connection), password logins with introspection at full load alongside,
     and the raw bcrypt limit measured in this process once the server stopped;
  2. next to the running authsvc, a resource server (benchmarks/resource_app.py, FastAPI): one
     endpoint unprotected, then guarded by authsvc-client with its cache off, then on (30 s);
  3. the ceilings: benchmarks/raw_asgi.py (no framework, uvicorn + httptools + uvloop) and
     benchmarks/bare_app.py (FastAPI, the same form parsing, a constant body);
  4. authsvc with the /introspect rate limiter switched off (benchmarks/variants.py), for the
     limiter's own cost.
Load comes from wrk (Lua scripts in benchmarks/lua) in its own process, bounded by -d.
Every row is printed with its ratio to issue 20's target (TARGETS; 1.0 or more: met).
It creates its own PostgreSQL databases (dropped at the end) and claims a Redis logical database
(flushed at start and end). Prints a table and writes benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LUA = HERE / "lua"
SDK = ROOT / "sdk" / "python" / "src"  # authsvc-client, when it is not installed
PY = sys.executable
UA = "authsvc-bench/1.0"
PASSWORD = "Bench-Horse-7-Battery-Staple"
CLAIM_KEY = "authsvc-test-claim"  # the test suite's claim: a claimed DB is skipped by test runs
UNLIMITED = "1000000000/60"
ERROR_KINDS = ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- resources


async def create_database(admin_dsn: str) -> tuple[str, str]:
    name = f"authsvc_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    host = admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
    return name, f"postgresql+asyncpg://{host}/{name}"


async def drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def claim_redis(base: str, preferred: int) -> tuple[int, str]:
    """A Redis logical DB for the run, claimed like the tests claim theirs, then flushed."""
    token = f"bench-{os.getpid()}-{secrets.token_hex(4)}"
    for index in [preferred, *[i for i in range(15, 0, -1) if i != preferred]]:
        client = redis.Redis.from_url(f"{base}/{index}")
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=7200):
                client.flushdb()
                client.set(CLAIM_KEY, token, ex=7200)
                return index, token
        finally:
            client.close()
    raise SystemExit("no free Redis logical database")


def release_redis(base: str, index: int) -> None:
    client = redis.Redis.from_url(f"{base}/{index}")
    try:
        client.flushdb()
    finally:
        client.close()


# ------------------------------------------------------------------------------ servers


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def worker_pids(pid: int, workers: int) -> list[int]:
    """uvicorn runs one worker in the main process; several as spawned children."""
    if workers == 1:
        return [pid]
    found = []
    for child in children(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmd:
            found.append(child)
    return found


class Server:
    def __init__(self, label: str, argv: list[str], env: dict[str, str], port: int,
                 workers: int, log_dir: Path | None = None) -> None:
        self.label, self.argv, self.env, self.port, self.workers = label, argv, env, port, workers
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.logfile = tempfile.NamedTemporaryFile(prefix=f"bench-{label}-", suffix=".log",
                                                   dir=log_dir, delete=False)

    def start(self) -> None:
        log(f"starting {self.label} ({self.workers} worker(s)) on {self.url}")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=self.logfile,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.label} exited; see {self.logfile.name}")
            try:
                if httpx.get(self.url + "/health/live", timeout=1).status_code == 200:
                    if len(self.workers_pids()) >= self.workers:
                        time.sleep(1.0)  # let every worker finish its lifespan start
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.label} did not start; see {self.logfile.name}")

    def error_statuses(self) -> dict[str, int]:
        """Answers of 400 and more in this server's access log, by "METHOD route status"
        (authsvc at INFO writes one JSON line a request): what a row's `errors` were."""
        counts: dict[str, int] = {}
        with open(self.logfile.name, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if '"status":4' not in line and '"status":5' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry.get("status"), int) and entry["status"] >= 400:
                    key = f"{entry.get('method')} {entry.get('route')} {entry['status']}"
                    counts[key] = counts.get(key, 0) + 1
        return counts

    def workers_pids(self) -> list[int]:
        assert self.proc is not None
        return worker_pids(self.proc.pid, self.workers)

    def rss(self) -> list[float | None]:
        return [rss_mb(pid) for pid in sorted(self.workers_pids())]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------- wrk


def wrk_argv(url: str, script: str, duration: float, connections: int, threads: int) -> list[str]:
    return ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s",
            "--timeout", "10s", "-s", str(LUA / script), url]


def parse_wrk(out: str) -> dict[str, Any]:
    for line in out.splitlines():
        if line.startswith("BENCH_RESULT "):
            data: dict[str, Any] = json.loads(line[len("BENCH_RESULT "):])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            data["errors"] = sum(v for k, v in data.items() if k.startswith("errors_"))
            return data
    raise RuntimeError(f"wrk printed no result:\n{out}")


def wrk_env(bodies: Path, path: str = "/introspect", auth: str = "", delay_ms: float = 0,
            threads: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENCH_BODIES=str(bodies), BENCH_PATH=path, BENCH_AUTH=auth, BENCH_UA=UA,
               BENCH_DELAY_MS=f"{delay_ms:.3f}" if delay_ms else "", BENCH_THREADS=str(threads))
    return env


def run_wrk(url: str, script: str, env: dict[str, str], duration: float, connections: int,
            threads: int = 1) -> dict[str, Any]:
    argv = wrk_argv(url, script, duration, connections, threads)
    done = subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=duration + 60, check=True)
    return parse_wrk(done.stdout)


def start_wrk(url: str, script: str, env: dict[str, str], duration: float, connections: int,
              threads: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(wrk_argv(url, script, duration, connections, threads), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------------------------ pgbench


def pgbench_dsn(admin_dsn: str, name: str) -> str:
    """The admin DSN (a libpq URI) with its database replaced by `name`."""
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def parse_pgbench(out: str) -> dict[str, Any]:
    """tps and mean latency from pgbench's summary (it prints no percentiles without -l)."""
    tps = latency = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("tps = ") and tps is None:
            tps = float(line.split()[2])
        elif line.startswith("latency average = "):
            latency = float(line.split()[3])
    if tps is None:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return {"rps": tps, "mean_ms": latency}


def run_pgbench(dsn: str, duration: float, connections: int, threads: int,
                scale: int) -> dict[str, Any]:
    """`pgbench -N` (the simple-update script: one UPDATE, one SELECT, one INSERT, a commit a
    transaction) on a database of its own, initialised by `pgbench -i`."""
    subprocess.run(["pgbench", "-i", "-q", "-s", str(scale), dsn], check=True,
                   capture_output=True, text=True, timeout=600)
    done = subprocess.run(["pgbench", "-N", "-n", "-c", str(connections), "-j", str(threads),
                           "-T", str(max(int(round(duration)), 1)), dsn],
                          check=True, capture_output=True, text=True, timeout=duration + 120)
    return parse_pgbench(done.stdout)


# ------------------------------------------------------------------------------ targets

INTROSPECTION = "introspection"
BEARER = "bearer endpoint (GET /users/me)"
CLIENT_CREDENTIALS = "client credentials grant"
REFRESH = "refresh rotation"  # chains: each response's token spent next (refresh.lua)
LOGIN = "password login (bcrypt 12)"
LOGIN_SIDE = "introspection during logins"
HALF_RATE = "introspection @ half max rate"
RAW_ASGI = "ceiling: raw ASGI (uvicorn + httptools)"
BARE_FASTAPI = "ceiling: bare FastAPI form endpoint"
PGBENCH = "ceiling: pgbench -N (PostgreSQL writes)"
BCRYPT_CORES = "ceiling: raw bcrypt, threads = cores"
PEER_CC = "peer: oidc-provider client credentials"
PEER_INTROSPECTION = "peer: oidc-provider introspection"
# Rows measured once a run, not per worker count (stored with workers 0).
SHARED_ROWS = (PGBENCH, PEER_CC, PEER_INTROSPECTION)

# Issue 20's targets. kind "ratio": rps(row) >= factor x rps(of); "tail": p99 <= factor x p50
# of the row; "p99": the row's p99 < factor ms. `ratio_to_target` is measured / required for
# >= targets and required / measured for <= ones, so 1.0 or more always means met.
TARGETS: tuple[dict[str, Any], ...] = (
    {"path": "GET /users/me", "row": BEARER, "kind": "ratio", "of": INTROSPECTION,
     "factor": 0.5},
    {"path": "POST /token client_credentials", "row": CLIENT_CREDENTIALS, "kind": "ratio",
     "of": PEER_CC, "factor": 1.0},
    {"path": "POST /introspect tail at saturation", "row": INTROSPECTION, "kind": "tail",
     "factor": 5.0},
    {"path": "POST /introspect p99 at half rate", "row": HALF_RATE, "kind": "p99",
     "factor": 10.0},
    {"path": "POST /introspect vs raw ASGI", "row": INTROSPECTION, "kind": "ratio",
     "of": RAW_ASGI, "factor": 0.8},
    {"path": "refresh chains vs pgbench -N", "row": REFRESH, "kind": "ratio", "of": PGBENCH,
     "factor": 0.8},
    {"path": "password login vs raw bcrypt", "row": LOGIN, "kind": "ratio", "of": BCRYPT_CORES,
     "factor": 0.9},
    {"path": "introspection during logins vs idle", "row": LOGIN_SIDE, "kind": "ratio",
     "of": INTROSPECTION, "factor": 0.5},
    # No target in the issue: the peer comparison for introspection, shown for reference.
    {"path": "POST /introspect vs oidc-provider", "row": INTROSPECTION, "kind": "ratio",
     "of": PEER_INTROSPECTION, "factor": None},
)


def find_row(rows: list[dict[str, Any]], name: str, workers: int) -> dict[str, Any] | None:
    w = 0 if name in SHARED_ROWS else workers
    return next((r for r in rows if r["row"] == name and r["workers"] == w), None)


def evaluate_targets(rows: list[dict[str, Any]], workers: list[int]) -> list[dict[str, Any]]:
    """Each target of TARGETS for each worker count, from the rows measured in this run; a
    target whose rows are missing (a partial run) has measured None. Also annotates each row
    with its targets (row["targets"]: path, measured, ratio_to_target)."""
    out = []
    for r in rows:
        r.pop("targets", None)
    for w in workers:
        for t in TARGETS:
            row = find_row(rows, t["row"], w)
            measured = None
            if t["kind"] == "ratio":
                of = find_row(rows, t["of"], w)
                if row and of and of["rps"]:
                    measured = round(row["rps"] / of["rps"], 3)
                required = f">= {t['factor']} x {t['of']}" if t["factor"] else t["of"]
            elif t["kind"] == "tail":
                if row and row.get("p50_ms"):
                    measured = round(row["p99_ms"] / row["p50_ms"], 2)
                required = f"p99 <= {t['factor']:g} x p50"
            else:
                measured = row["p99_ms"] if row else None
                required = f"p99 < {t['factor']:g} ms"
            ratio = None
            if measured is not None and t["factor"]:
                if t["kind"] == "ratio":  # none at all (0 logins in the run) is a miss, too
                    ratio = round(measured / t["factor"], 3)
                elif measured > 0:
                    ratio = round(t["factor"] / measured, 3)
            entry = {"path": t["path"], "workers": w, "row": t["row"], "required": required,
                     "measured": measured, "ratio_to_target": ratio,
                     "met": None if ratio is None else ratio >= 1.0}
            out.append(entry)
            if row is not None:
                row.setdefault("targets", []).append(
                    {k: entry[k] for k in ("path", "required", "measured", "ratio_to_target")})
    return out


# ------------------------------------------------------------------------------- bcrypt


def bcrypt_limit(threads: int, duration: float, rounds: int) -> float:
    """Raw passlib bcrypt_sha256 verifications per second with `threads` threads."""
    from passlib.context import CryptContext

    context = CryptContext(schemes=["bcrypt_sha256"], bcrypt_sha256__rounds=rounds)
    stored = context.hash(PASSWORD)
    deadline = time.monotonic() + duration

    def loop() -> int:
        n = 0
        while time.monotonic() < deadline:
            assert context.verify(PASSWORD, stored)
            n += 1
        return n

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        counts = list(pool.map(lambda _: loop(), range(threads)))
    return sum(counts) / (time.monotonic() - start)


# ---------------------------------------------------------------------------------- run


def _ms(reduce: Any, values_us: list[float | None]) -> float | None:
    """Microseconds (wrk) to milliseconds; None for a row measured without latencies."""
    if any(v is None for v in values_us):
        return None
    return round(reduce(values_us) / 1000, 2)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[dict[str, Any]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="authsvc-bench-"))
        self.env: dict[str, str] = {}
        self.client_auth = ""
        self.client: tuple[str, str] = ("", "")
        self.emails: list[str] = []
        self.registered = False
        self.error_answers: dict[int, dict[str, int]] = {}  # by worker count, from the log

    # -------------------------------------------------------------------- helpers
    def add(self, row: str, workers: int, runs: list[dict[str, Any]], **extra: Any) -> dict:
        rps = [r["rps"] for r in runs]
        entry = {
            "row": row, "workers": workers, "runs": len(runs),
            "rps": round(statistics.mean(rps), 1), "rps_min": round(min(rps), 1),
            "rps_max": round(max(rps), 1),
            "p50_ms": _ms(statistics.mean, [r["p50_us"] for r in runs]),
            "p99_ms": _ms(statistics.mean, [r["p99_us"] for r in runs]),
            "p99_ms_max": _ms(max, [r["p99_us"] for r in runs]),
            "requests": sum(r["requests"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "errors_by_kind": {k[len("errors_"):]: sum(r.get(k, 0) for r in runs)
                               for k in ERROR_KINDS if any(r.get(k) for r in runs)},
            **extra,
        }
        self.rows.append(entry)
        log(f"  {row} [{workers or '-'}w]: {entry['rps']} req/s"
            f" ({entry['rps_min']}–{entry['rps_max']}),"
            f" p50 {entry['p50_ms']} ms, p99 {entry['p99_ms']} ms, errors {entry['errors']}")
        return entry

    def prepare(self, client_name: str) -> None:
        """Migrate the benchmark's database and register the resource server that introspects."""
        self.cli("migrate")
        issued = json.loads(self.cli("create-client", client_name))
        raw = f"{issued['client_id']}:{issued['client_secret']}".encode()
        self.client_auth = "Basic " + base64.b64encode(raw).decode()
        self.client = (issued["client_id"], issued["client_secret"])

    def cli(self, *argv: str) -> str:
        done = subprocess.run([PY, "-m", "authsvc", *argv], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"authsvc {' '.join(argv)} failed:\n{done.stderr}")
        return done.stdout

    def seed_tokens(self, *, access: int = 0, refresh: int = 0, tag: str = "") -> tuple[Path, Path]:
        out_access = self.tmp / f"access{tag}.txt"
        out_refresh = self.tmp / f"refresh{tag}.txt"
        emails = self.tmp / "emails.txt"
        emails.write_text("\n".join(self.emails) + "\n")
        start = time.monotonic()
        subprocess.run([PY, str(HERE / "seed_tokens.py"), "--emails", str(emails),
                        "--user-agent", UA, "--access", str(access), "--refresh", str(refresh),
                        "--out-access", str(out_access), "--out-refresh", str(out_refresh)],
                       env=self.env, cwd=ROOT, check=True, timeout=900)
        log(f"  seeded {access} access + {refresh} refresh tokens in "
            f"{time.monotonic() - start:.1f} s")
        return out_access, out_refresh

    def register_users(self, url: str) -> None:
        if self.registered:
            return
        self.emails = [f"bench-{i}-{secrets.token_hex(3)}@example.com"
                       for i in range(self.args.users)]
        with httpx.Client(base_url=url, headers={"User-Agent": UA}, timeout=30) as http:
            for email in self.emails:
                r = http.post("/users", json={"email": email, "password": PASSWORD})
                assert r.status_code == 201, r.text
        self.registered = True

    def check_paths(self, url: str, access_file: Path) -> None:
        """One request of each kind by hand, so a misconfiguration fails loudly, not as 'fast'."""
        body = access_file.read_text().splitlines()[0]
        if str(SDK) not in sys.path:
            sys.path.append(str(SDK))
        from authsvc_client import AuthsvcClient

        token = urllib.parse.parse_qs(body)["token"][0]
        with AuthsvcClient(url, *self.client) as client:  # introspection as services do it
            answer = client.introspect(token, user_agent=UA)
            assert answer["active"] is True, answer
        with httpx.Client(base_url=url, headers={"User-Agent": UA}, timeout=30) as http:
            form = {"Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": self.client_auth}
            r = http.post("/token", data={"grant_type": "password", "username": self.emails[0],
                                          "password": PASSWORD})
            assert r.status_code == 200, r.text
            r = http.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": r.json()["refresh_token"]})
            assert r.status_code == 200, r.text
            r = http.post("/token", content="grant_type=client_credentials", headers=form)
            assert r.status_code == 200, r.text
            r = http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text

    # ---------------------------------------------------------------------- rows
    def introspection_rows(self, server: Server, bodies: Path, row: str, workers: int,
                           rss: bool = False, auth: str | None = None) -> dict[str, Any]:
        a = self.args
        env = wrk_env(bodies, "/introspect", self.client_auth if auth is None else auth)
        run_wrk(server.url, "form.lua", env, a.warmup, a.connections)  # warm-up: caches, JIT
        runs, rss_after = [], []
        for k in range(a.repeat):
            spy = self.profile(server, f"{row}-{workers}w-{k}") if k == 0 else None
            runs.append(run_wrk(server.url, "form.lua", env, a.duration, a.connections))
            if spy is not None:
                spy.wait(timeout=60)
            if rss:
                rss_after.append(server.rss())
        extra = {"rss_mb_after_each_run": rss_after} if rss else {}
        return self.add(row, workers, runs, **extra)

    def resource_rows(self, authsvc: Server, bodies: Path, workers: int) -> None:
        """GET /orders of a FastAPI app: unprotected, then guarded by authsvc-client with its
        cache off and on; each served alone next to the running authsvc (both on this machine:
        the guarded rows include authsvc's own work)."""
        a = self.args
        port = authsvc.port + 5
        variants = [
            ("resource endpoint, unprotected", {"BENCH_GUARD": "none"}),
            ("resource endpoint, library, cache off", {"BENCH_GUARD": "library",
                                                       "BENCH_CACHE_TTL": "0"}),
            ("resource endpoint, library, cache 30 s", {"BENCH_GUARD": "library",
                                                        "BENCH_CACHE_TTL": "30"}),
        ]
        token = urllib.parse.parse_qs(bodies.read_text().splitlines()[0])["token"][0]
        for row, extra in variants:
            env = {**self.env, **extra, "BENCH_AUTHSVC_URL": authsvc.url,
                   "BENCH_CLIENT_ID": self.client[0], "BENCH_CLIENT_SECRET": self.client[1]}
            argv = [PY, str(HERE / "serve.py"), "benchmarks.resource_app:create_app",
                    "--port", str(port), "--workers", str(workers)]
            with Server("resource", argv, env, port, workers) as srv:
                with httpx.Client(base_url=srv.url, headers={"User-Agent": UA}, timeout=30) as h:
                    ok = h.get("/orders", headers={"Authorization": f"Bearer {token}"})
                    assert ok.status_code == 200, ok.text
                    refused = h.get("/orders").status_code
                    assert refused == (200 if extra["BENCH_GUARD"] == "none" else 401), refused
                env_wrk = wrk_env(bodies, "/orders")
                run_wrk(srv.url, "bearer.lua", env_wrk, a.warmup, a.connections)
                runs = [run_wrk(srv.url, "bearer.lua", env_wrk, a.duration, a.connections)
                        for _ in range(a.repeat)]
                self.add(row, workers, runs)

    def profile(self, server: Server, name: str) -> subprocess.Popen[bytes] | None:
        """With --profile: py-spy samples the first worker during this run (collapsed stacks)."""
        if not self.args.profile:
            return None
        out = self.args.out.parent / f"profile-{name.replace(' ', '_').replace(':', '')}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        pid = sorted(server.workers_pids())[0]
        return subprocess.Popen([shutil.which("py-spy") or str(Path(PY).parent / "py-spy"), "record", "-p", str(pid), "-d",
                                 str(int(self.args.duration)), "-r", "200", "-f", "raw",
                                 "-o", str(out), "--nonblocking"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def half_rate(self, server: Server, bodies: Path, workers: int, max_rps: float) -> None:
        a = self.args
        target = max_rps / 2
        conns = a.half_rate_connections
        # Each connection waits for its answer, then an exponential think time, so the offered
        # rate is about conns / (latency + mean delay). One correction pass after a short probe.
        delay_ms = max(conns * 1000 / target - 1.0, 0.0)
        probe = run_wrk(server.url, "form.lua",
                        wrk_env(bodies, "/introspect", self.client_auth, delay_ms),
                        min(a.duration, 5), conns)
        if probe["rps"] > 0:
            delay_ms = max(delay_ms * probe["rps"] / target, 0.0)
        runs = [run_wrk(server.url, "form.lua",
                        wrk_env(bodies, "/introspect", self.client_auth, delay_ms),
                        a.duration, conns) for _ in range(a.repeat)]
        self.add(HALF_RATE, workers, runs, target_rps=round(target, 1),
                 connections=conns, mean_delay_ms=round(delay_ms, 2))

    def client_credentials(self, server: Server, workers: int) -> None:
        a = self.args
        bodies = self.tmp / "cc.txt"
        bodies.write_text("grant_type=client_credentials\n")
        env = wrk_env(bodies, "/token", self.client_auth)
        run_wrk(server.url, "form.lua", env, a.warmup, a.connections)
        runs = [run_wrk(server.url, "form.lua", env, a.duration, a.connections)
                for _ in range(a.repeat)]
        self.add(CLIENT_CREDENTIALS, workers, runs)

    def refresh(self, server: Server, workers: int) -> dict[str, Any]:
        """Refresh chains: one chain per connection (wrk with a thread per connection), each
        response's refresh token spent by that connection's next request (refresh.lua)."""
        a = self.args
        conns = a.connections
        _, warm = self.seed_tokens(refresh=conns, tag=f"-warm{workers}")
        run_wrk(server.url, "refresh.lua", wrk_env(warm), a.warmup, conns, threads=conns)
        runs = []
        for k in range(a.repeat):
            _, chains = self.seed_tokens(refresh=conns, tag=f"-{workers}-{k}")
            result = run_wrk(server.url, "refresh.lua", wrk_env(chains), a.duration, conns,
                             threads=conns)
            if result["broken"]:
                log(f"  WARNING: {result['broken']} of {conns} chains broke (a 4xx answer)")
            runs.append(result)
        return self.add(REFRESH, workers, runs, chains=conns,
                        broken_chains=sum(r["broken"] for r in runs),
                        retried_5xx=sum(r["retried"] for r in runs))

    def logins(self, server: Server, workers: int, access: Path) -> dict[str, Any]:
        """A login storm with introspection alongside: by default at full load
        (--login-side-connections, no think time), so the row tells how much introspection
        keeps of its idle rate while every core hashes passwords."""
        a = self.args
        bodies = self.tmp / "logins.txt"
        bodies.write_text("".join(
            urllib.parse.urlencode({"grant_type": "password", "username": e,
                                    "password": PASSWORD}) + "\n" for e in self.emails))
        env = wrk_env(bodies, "/token")
        conns = a.login_connections
        # A login costs a bcrypt 12 (~0.25 s of a core): a run shorter than a few queue
        # lengths would count almost nothing, so logins get at least --login-duration.
        duration = max(a.duration, a.login_duration)
        run_wrk(server.url, "form.lua", env, max(a.warmup, 2), conns)
        runs, side = [], []
        side_env = wrk_env(access, "/introspect", self.client_auth, a.login_side_delay_ms)
        for _ in range(a.repeat):
            other = start_wrk(server.url, "form.lua", side_env, duration,
                              a.login_side_connections)
            runs.append(run_wrk(server.url, "form.lua", env, duration, conns))
            out, _ = other.communicate(timeout=duration + 60)
            side.append(parse_wrk(out))
        entry = self.add(LOGIN, workers, runs, connections=conns)
        self.add(LOGIN_SIDE, workers, side, connections=a.login_side_connections,
                 mean_delay_ms=a.login_side_delay_ms)
        return entry

    def bearer(self, server: Server, workers: int, access: Path) -> dict[str, Any]:
        """GET /users/me with the users' access tokens (any bearer endpoint's path)."""
        a = self.args
        env = wrk_env(access, "/users/me")
        run_wrk(server.url, "bearer.lua", env, a.warmup, a.connections)
        runs = [run_wrk(server.url, "bearer.lua", env, a.duration, a.connections)
                for _ in range(a.repeat)]
        return self.add(BEARER, workers, runs)

    def add_rate(self, row: str, workers: int, rates: list[float], **extra: Any) -> dict:
        """A row measured without wrk (pgbench, bcrypt): a rate, no latency percentiles."""
        return self.add(row, workers, [{"rps": r, "p50_us": None, "p99_us": None,
                                        "requests": 0, "errors": 0} for r in rates], **extra)

    def pgbench(self) -> None:
        """`pgbench -N` on a database of its own: the PostgreSQL write limit of this machine."""
        a = self.args
        name, _ = asyncio.run(create_database(a.pg))
        try:
            log(f"pgbench -N on {name} (scale {a.pgbench_scale})")
            runs = [run_pgbench(pgbench_dsn(a.pg, name), a.duration, a.connections,
                                a.pgbench_threads, a.pgbench_scale) for _ in range(a.repeat)]
        finally:
            asyncio.run(drop_database(a.pg, name))
        self.add_rate(PGBENCH, 0, [r["rps"] for r in runs], connections=a.connections,
                      threads=a.pgbench_threads, scale=a.pgbench_scale,
                      mean_latency_ms=[r["mean_ms"] for r in runs])

    def peer(self) -> None:
        """panva's oidc-provider, one Node process: client credentials, and introspection of
        its own client-credentials tokens. Both paths are warmed up first (V8 compiles them as
        they run); the tokens introspected are made after the warm-up and measured before the
        client-credentials row, since its in-memory store keeps only the last 1,000."""
        a = self.args
        node = shutil.which("node")
        if node is None or shutil.which("npm") is None:
            log("WARNING: node/npm not installed: no peer rows")
            return
        peer_dir = HERE / "peer"
        if not (peer_dir / "node_modules" / "oidc-provider").is_dir():
            log("installing the peer (npm ci in benchmarks/peer)")
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=peer_dir, check=True,
                           capture_output=True, timeout=600)
        client_id, secret = "bench-peer", secrets.token_urlsafe(32)
        auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        port = a.port + 1
        env = {**os.environ, "NODE_ENV": "production"}
        argv = [node, str(peer_dir / "server.mjs"), "--port", str(port), "--client-id",
                client_id, "--client-secret", secret]
        cc = self.tmp / "peer-cc.txt"
        cc.write_text("grant_type=client_credentials\n")
        env_cc = wrk_env(cc, "/token", auth)
        warmup = max(a.warmup, 3)  # Node compiles its hot paths as they run: warm both first
        with Server("oidc-provider", argv, env, port, 1, log_dir=self.tmp) as srv:
            run_wrk(srv.url, "form.lua", env_cc, warmup, a.connections)
            # Its tokens for introspection, made after the warm-up's (the store keeps 1,000).
            lines = []
            with httpx.Client(base_url=srv.url, timeout=30, auth=(client_id, secret)) as http:
                for _ in range(a.peer_tokens):
                    r = http.post("/token", data={"grant_type": "client_credentials"})
                    assert r.status_code == 200, r.text
                    lines.append(urllib.parse.urlencode({"token": r.json()["access_token"]}))
                bodies = self.tmp / "peer-introspect.txt"
                bodies.write_text("\n".join(lines) + "\n")
                first = urllib.parse.parse_qs(lines[0])["token"][0]
                run_wrk(srv.url, "form.lua", wrk_env(bodies, "/introspect", auth), warmup,
                        a.connections)
                entry = self.introspection_rows(srv, bodies, PEER_INTROSPECTION, 0, auth=auth)
                check = http.post("/introspect", data={"token": first})
                entry["active_after"] = check.status_code == 200 and check.json()["active"]
                if not entry["active_after"]:
                    log("  WARNING: the peer forgot its tokens: its introspection row measured"
                        " inactive answers")
            runs = [run_wrk(srv.url, "form.lua", env_cc, a.duration, a.connections)
                    for _ in range(a.repeat)]
            self.add(PEER_CC, 0, runs, processes=1)

    def raw_ceiling(self, access: Path, workers: int, port: int) -> None:
        argv = [PY, "-m", "uvicorn", "benchmarks.raw_asgi:app", "--http", "httptools",
                "--loop", "uvloop", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        with Server("raw-asgi", argv, self.env, port, workers, log_dir=self.tmp) as srv:
            self.introspection_rows(srv, access, RAW_ASGI, workers)

    # ----------------------------------------------------------------------- run
    def server_env(self, db_url: str, redis_index: int) -> dict[str, str]:
        """authsvc's environment: the production profile (secrets made here, mail to the log,
        INFO logs as operators run it), limits that would refuse the load opened wide."""
        a = self.args
        pythonpath = os.pathsep.join([str(ROOT), str(ROOT / "src"), str(SDK),
                                      os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")},
            "PYTHONPATH": pythonpath,
            "AUTHSVC_ENV": "production",
            "AUTHSVC_LOG_LEVEL": a.log_level,
            "AUTHSVC_MAIL_TRANSPORT": "log",
            "AUTHSVC_BCRYPT_ROUNDS": str(a.bcrypt_rounds),
            "AUTHSVC_DATABASE_URL": db_url,
            "AUTHSVC_REDIS_URL": f"{a.redis}/{redis_index}",
            "AUTHSVC_JWT_SECRET": secrets.token_urlsafe(48),
            "AUTHSVC_ENCRYPTION_KEY": secrets.token_urlsafe(48),
            "AUTHSVC_ISSUER": f"http://127.0.0.1:{a.port}",
            "AUTHSVC_METRICS_ENABLED": "true",
            # Measure the work, not the limiter (its cost is the "limiter off" row).
            "AUTHSVC_RATE_LIMIT_INTROSPECT": UNLIMITED,
            "AUTHSVC_RATE_LIMIT_TOKEN": UNLIMITED,
            "AUTHSVC_RATE_LIMIT_REGISTER": UNLIMITED,
            "AUTHSVC_LOCKOUT_MAX_ATTEMPTS": "1000000",
            "AUTHSVC_STUFFING_USERNAMES_THRESHOLD": "1000000",
        }

    def run(self) -> dict[str, Any]:
        a = self.args
        admin = a.pg
        db_name, db_url = asyncio.run(create_database(admin))
        redis_index, _ = claim_redis(a.redis, a.redis_db)
        log(f"database {db_name}, Redis DB {redis_index}, scratch {self.tmp}")
        self.env = self.server_env(db_url, redis_index)
        started = time.time()
        ok = False
        bcrypt_rows: list[dict[str, Any]] = []
        try:
            self.prepare("bench-resource-server")
            if a.only == "all":
                self.pgbench()
                self.peer()
            for workers in a.workers:
                self.run_workers(workers, bcrypt_rows)
            ok = True
        finally:
            asyncio.run(drop_database(admin, db_name))
            release_redis(a.redis, redis_index)
            if ok and not a.keep_logs:
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                log(f"kept {self.tmp} (server logs, tokens)")
        return self.report(bcrypt_rows, started)

    def run_workers(self, workers: int, bcrypt_rows: list[dict[str, Any]]) -> None:
        a = self.args
        port = a.port + workers * 10
        log(f"=== {workers} worker(s) ===")
        with Server("authsvc", [PY, "-m", "authsvc", "serve", "--workers", str(workers),
                                "--port", str(port)], self.env, port, workers,
                    log_dir=self.tmp) as srv:
            self.register_users(srv.url)
            if not (self.tmp / "access.txt").exists():
                self.seed_tokens(access=a.access_tokens)
            access = self.tmp / "access.txt"
            self.check_paths(srv.url, access)
            rss_start = srv.rss()
            intro = self.introspection_rows(srv, access, INTROSPECTION, workers, rss=True)
            if a.only in ("all", "library"):
                self.resource_rows(srv, access, workers)
            if a.only == "all":
                self.bearer(srv, workers, access)
                self.half_rate(srv, access, workers, intro["rps"])
                self.client_credentials(srv, workers)
                self.refresh(srv, workers)
                self.logins(srv, workers, access)
            # A repeated introspection run after everything else: is RSS flat?
            again = self.introspection_rows(srv, access, "introspection (repeated)", workers,
                                            rss=True)
            rss_end = srv.rss()
            intro["rss_mb_start"] = rss_start
            intro["rss_mb_end"] = rss_end
            again["rss_mb_end"] = rss_end
        self.error_answers[workers] = srv.error_statuses()
        if self.error_answers[workers]:
            log(f"  authsvc's error answers ({workers}w): {self.error_answers[workers]}")
        if a.only == "library":
            return
        if a.only != "all":
            bcrypt_rows.append({"workers": workers, "threads_eq_workers": 0,
                                "threads_eq_cores": 0})
        else:
            self.bcrypt(bcrypt_rows, workers)
        self.raw_ceiling(access, workers, port + 3)
        bare_port = port + 1
        with Server("ceiling", [PY, str(HERE / "serve.py"), "benchmarks.bare_app:create_app",
                                "--port", str(bare_port), "--workers", str(workers)],
                    self.env, bare_port, workers, log_dir=self.tmp) as srv:
            self.introspection_rows(srv, access, BARE_FASTAPI, workers)
        off_port = port + 2
        with Server("limiter-off", [PY, str(HERE / "serve.py"),
                                    "benchmarks.variants:without_introspect_limit",
                                    "--port", str(off_port), "--workers", str(workers)],
                    self.env, off_port, workers, log_dir=self.tmp) as srv:
            self.introspection_rows(srv, access, "introspection, limiter off", workers)

    def bcrypt(self, bcrypt_rows: list[dict[str, Any]], workers: int) -> None:
        a = self.args
        log("  measuring raw bcrypt (server stopped, machine idle)")
        cores = os.cpu_count() or 2
        # At least 5 s: a hash takes ~0.25 s of a core, and a loaded one much more; a count of
        # two or three would make the limit a coin toss (--quick runs 3 s rows).
        seconds = max(min(a.duration, 10), 5)
        limit_w = bcrypt_limit(workers, seconds, a.bcrypt_rounds)
        limit_c = limit_w if cores == workers else bcrypt_limit(cores, seconds, a.bcrypt_rounds)
        bcrypt_rows.append({"workers": workers, "threads_eq_workers": round(limit_w, 2),
                            "threads_eq_cores": round(limit_c, 2)})
        self.add_rate(BCRYPT_CORES, workers, [limit_c], threads=cores)
        log(f"  bcrypt limit: {limit_w:.2f}/s ({workers} thread(s)), "
            f"{limit_c:.2f}/s ({cores} threads)")

    # -------------------------------------------------------------------- report
    def report(self, bcrypt_rows: list[dict[str, Any]], started: float) -> dict[str, Any]:
        def get(row: str, w: int) -> dict[str, Any] | None:
            return find_row(self.rows, row, w)

        def ratio(num: Any, den: Any) -> float | None:
            if not num or not den:
                return None
            return round(num / den, 3)

        ratios = []
        for limits in bcrypt_rows:
            w = limits["workers"]
            intro, ceil = get(INTROSPECTION, w), get(BARE_FASTAPI, w)
            login, refresh = get(LOGIN, w), get(REFRESH, w)
            off, half = get("introspection, limiter off", w), get(HALF_RATE, w)
            rss = [x for r in (intro, get("introspection (repeated)", w)) if r
                   for x in (r.get("rss_mb_end") or [])]
            ratios.append({
                "workers": w,
                "introspection_over_ceiling": ratio(intro and intro["rps"], ceil and ceil["rps"]),
                "login_over_bcrypt_limit_threads_eq_workers":
                    ratio(login and login["rps"], limits["threads_eq_workers"]),
                "login_over_bcrypt_limit_threads_eq_cores":
                    ratio(login and login["rps"], limits["threads_eq_cores"]),
                "refresh_over_introspection": ratio(refresh and refresh["rps"],
                                                    intro and intro["rps"]),
                "limiter_cost_pct": round(100 * (1 - intro["rps"] / off["rps"]), 1)
                if intro and off else None,
                "half_rate_p99_ms": half and half["p99_ms"],
                "worker_rss_mb_max": max(rss) if rss else None,
                "bcrypt_limit_per_s": limits,
            })
        targets = evaluate_targets(self.rows, list(self.args.workers))
        result = {
            "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(time.time() - started),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(),
                        "cpu": _cpu_model(), "load_average": _load()},
            "settings": {k: str(v) if isinstance(v, Path) else v
                         for k, v in vars(self.args).items() if k not in ("pg", "redis")},
            "rows": self.rows,
            "targets": targets,
            "ratios": ratios,
            "authsvc_error_answers": {str(w): c for w, c in self.error_answers.items()},
        }
        print_table(result)
        return result


def _load() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(result: dict[str, Any]) -> None:
    head = (f"{'row':<42} {'w':>2} {'req/s':>9} {'min–max':>13} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'err':>5}  x target")
    print(head)
    print("-" * (len(head) + 30))
    for r in result["rows"]:
        spread = f"{r['rps_min']:.0f}–{r['rps_max']:.0f}"
        marks = [f"{_num(t['ratio_to_target'], '.2f')} ({t['path']})"
                 for t in r.get("targets", []) if t["ratio_to_target"] is not None
                 or t["required"].startswith(">=")]
        if not marks:
            marks = ["ceiling" if r["row"].startswith("ceiling")
                     else "peer" if r["row"].startswith("peer") else ""]
        w = r["workers"] or "-"
        print(f"{r['row']:<42} {w:>2} {r['rps']:>9.1f} {spread:>13} "
              f"{_num(r['p50_ms'], '8.2f'):>8} {_num(r['p99_ms'], '8.2f'):>8} "
              f"{r['errors']:>5}  {'; '.join(marks)}")
    print()
    head = f"{'target (issue 20)':<38} {'w':>2} {'required':<52} {'measured':>9} {'x target':>9}  met"
    print(head)
    print("-" * len(head))
    for t in result["targets"]:
        met = {True: "yes", False: "NO", None: "-"}[t["met"]]
        print(f"{t['path']:<38} {t['workers']:>2} {t['required']:<52} "
              f"{_num(t['measured'], '9.3f'):>9} {_num(t['ratio_to_target'], '9.2f'):>9}  {met}")
    print()
    for q in result["ratios"]:
        b = q["bcrypt_limit_per_s"]
        print(f"[{q['workers']} worker(s)] introspection/bare FastAPI {q['introspection_over_ceiling']}"
              f" | login/bcrypt-limit {q['login_over_bcrypt_limit_threads_eq_workers']}"
              f" ({b['threads_eq_workers']}/s, threads=workers;"
              f" {q['login_over_bcrypt_limit_threads_eq_cores']} vs"
              f" {b['threads_eq_cores']}/s, threads=cores)"
              f" | refresh/introspection {q['refresh_over_introspection']}"
              f" | limiter cost {q['limiter_cost_pct']}%"
              f" | p99 @ half rate {q['half_rate_p99_ms']} ms"
              f" | worker RSS max {q['worker_rss_mb_max']} MB")
    for w, counts in (result.get("authsvc_error_answers") or {}).items():
        if counts:
            print(f"[{w} worker(s)] authsvc's error answers (its access log): "
                  + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())))
    load = result["machine"].get("load_average")
    if load:
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
              f" ({result['machine']['cpus']} CPUs)")


QUICK = {"workers": [1], "duration": 3.0, "warmup": 1.0, "repeat": 1, "users": 4,
         "access_tokens": 100, "pgbench_scale": 1, "peer_tokens": 50}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 1 worker, 3 s a row, one run each (figures not comparable)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    p.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per row")
    p.add_argument("--repeat", type=int, default=2, help="runs per row (the spread is reported)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--half-rate-connections", type=int, default=8)
    p.add_argument("--login-connections", type=int, default=8)
    p.add_argument("--login-duration", type=float, default=10,
                   help="seconds per login run at least (whatever --duration says)")
    p.add_argument("--login-side-connections", type=int, default=32,
                   help="introspection connections alongside the login storm")
    p.add_argument("--login-side-delay-ms", type=float, default=0.0,
                   help="their mean think time (0: as fast as they can)")
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--access-tokens", type=int, default=400)
    p.add_argument("--peer-tokens", type=int, default=200,
                   help="oidc-provider tokens introspected (its store keeps 1,000)")
    p.add_argument("--pgbench-scale", type=int, default=10)
    p.add_argument("--pgbench-threads", type=int, default=2)
    p.add_argument("--bcrypt-rounds", type=int, default=12)
    p.add_argument("--log-level", default="INFO", help="AUTHSVC_LOG_LEVEL of the servers")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the scratch directory (server logs) after a successful run")
    p.add_argument("--port", type=int, default=18000,
                   help="base port: the peer on +1, N workers' servers on +10N .. +10N+5")
    p.add_argument("--pg", default=os.environ.get("BENCH_PG",
                                                  "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"))
    p.add_argument("--redis-db", type=int, default=13)
    p.add_argument("--profile", action="store_true",
                   help="py-spy the first worker during each throughput row (needs py-spy)")
    p.add_argument("--only", choices=["introspection", "library", "all"], default="all",
                   help="introspection: only the introspection, ceiling and limiter-off rows; "
                        "library: only introspection and the resource-server rows")
    p.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = p.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        for key, value in QUICK.items():
            if f"--{key.replace('_', '-')}" not in given:
                setattr(args, key, value)
    return args


def main() -> None:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    if args.only == "all" and shutil.which("pgbench") is None:
        raise SystemExit("pgbench is not installed (Debian: apt-get install -y postgresql-contrib)")
    result = Bench(args).run()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten {args.out}")


if __name__ == "__main__":
    main()
