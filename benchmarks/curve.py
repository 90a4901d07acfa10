"""The cost curve (issue 20): the same rows as the state grows, and the revocation list's rebuild.

    python benchmarks/curve.py                 # the full curve: about 6-7 minutes on 2 vCPU
    python benchmarks/curve.py --quick         # small sizes, a smoke run (about 5 minutes)
    python benchmarks/curve.py --plot-only benchmarks/results/curve.json

One database and one `authsvc serve --workers 1` in the production profile, grown step by step
(seeded straight into PostgreSQL and Redis by benchmarks/seed_curve.py, never over HTTP):

    users 1k -> 100k -> 1M, then live revocations 100k -> 1M, then 10k active refresh families

Each step runs the introspection, refresh-rotation and password-login rows (wrk, as
benchmarks/run.py does them). The step before a dimension grows is that dimension's baseline.
Then, with every revocation in PostgreSQL, it flushes its own Redis logical database (what a
Redis restart without persistence does) and polls /introspect with a revoked and an unrevoked
token until the list is back: how long the rebuild takes and what each token gets meanwhile.

Writes benchmarks/results/curve.json and the figures docs/performance/cost-curve.png and
docs/performance/rebuild-timeline.png (matplotlib: `pip install matplotlib`, or the `bench`
extra). Creates its own PostgreSQL database and claims a Redis logical DB (both cleaned up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from authsvc.kv import Keys  # noqa: E402
from benchmarks import seed_curve  # noqa: E402
from benchmarks.run import (  # noqa: E402
    CLAIM_KEY,
    PASSWORD,
    PY,
    SDK,
    UA,
    UNLIMITED,
    Bench,
    Server,
    claim_redis,
    create_database,
    drop_database,
    log,
    release_redis,
    run_wrk,
    wrk_env,
)

FIGURES = ROOT / "docs" / "performance"
REVOCATION_TTL_S = 3 * 3600  # seeded revocations stay live for the whole run
ROWS = ("introspection", "refresh rotation", "password login (bcrypt 12)")
CEILING = "ceiling: bare FastAPI form endpoint"

# (dimension, size): the state after the step. Cumulative, in this order.
FULL = [("users", 1_000), ("users", 100_000), ("users", 1_000_000),
        ("revocations", 100_000), ("revocations", 1_000_000), ("families", 10_000)]
QUICK = [("users", 200), ("users", 2_000), ("users", 20_000),
         ("revocations", 2_000), ("revocations", 20_000), ("families", 500)]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def token_of(body: str) -> str:
    return urllib.parse.parse_qs(body)["token"][0]


class Curve:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.steps = QUICK if args.quick else FULL
        self.bench = Bench(args)  # its seeding, CLI runner and row bookkeeping
        self.state = {"users": 0, "revocations": 0, "families": 0}
        self.dsn = ""  # asyncpg form of the run's database
        self.redis_url = ""
        self.claim = ""
        self.hashed = ""
        self.points: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ seeding
    def grow(self, dimension: str, size: int) -> float:
        have = self.state[dimension]
        if size <= have:
            return 0.0
        first, last = have + 1, size
        if dimension == "users":
            took = asyncio.run(seed_curve.add_users(self.dsn, first, last, self.hashed))
        elif dimension == "revocations":
            took = asyncio.run(seed_curve.add_revocations(self.dsn, first, last,
                                                          REVOCATION_TTL_S))
            took += seed_curve.mirror_revocations(self.redis_url, first, last, REVOCATION_TTL_S)
        else:
            took = asyncio.run(seed_curve.add_families(self.dsn, size - have, UA))
        self.state[dimension] = size
        log(f"seeded {dimension} {have} -> {size} in {took:.1f} s")
        return took

    def sample_emails(self, n: int) -> list[str]:
        rng = random.Random(n)
        return [f"curve-{rng.randint(1, self.state['users'])}@example.com" for _ in range(n)]

    # --------------------------------------------------------------------- rows
    def introspection(self, srv: Server, access: Path) -> dict[str, Any]:
        a = self.args
        env = wrk_env(access, "/introspect", self.bench.client_auth)
        run_wrk(srv.url, "form.lua", env, a.warmup, a.connections)
        return run_wrk(srv.url, "form.lua", env, a.duration, a.connections)

    def refresh(self, srv: Server, tag: str) -> dict[str, Any]:
        """Refresh chains, as run.py measures them: one chain per connection (a wrk thread
        each), every response's refresh token spent by that connection's next request."""
        a = self.args
        self.bench.emails = self.sample_emails(100)
        _, chains = self.bench.seed_tokens(refresh=a.connections, tag=tag)
        result = run_wrk(srv.url, "refresh.lua", wrk_env(chains), a.duration, a.connections,
                         threads=a.connections)
        if result["broken"]:
            log(f"  WARNING: {result['broken']} of {a.connections} chains broke (a 4xx answer)")
        return result

    def login(self, srv: Server) -> dict[str, Any]:
        a = self.args
        bodies = self.bench.tmp / "logins.txt"
        bodies.write_text("".join(
            urllib.parse.urlencode({"grant_type": "password", "username": e,
                                    "password": PASSWORD}) + "\n"
            for e in self.sample_emails(400)))
        return run_wrk(srv.url, "form.lua", wrk_env(bodies, "/token"), a.login_duration,
                       a.login_connections)

    def step(self, srv: Server, ceiling: Server, access: Path, k: int, dimension: str,
             size: int) -> None:
        seeded = self.grow(dimension, size)
        state = dict(self.state)
        state["families_in_db"] = asyncio.run(seed_curve.count(self.dsn, "refresh_families"))
        log(f"=== step {k}: {state} ===")
        rows = {
            CEILING: self.introspection(ceiling, access),  # what the loaded box gives now
            ROWS[0]: self.introspection(srv, access),
            ROWS[1]: self.refresh(srv, f"-step{k}"),
            ROWS[2]: self.login(srv),
        }
        r = redis.Redis.from_url(self.redis_url)
        try:
            redis_mb = round(int(r.info("memory")["used_memory"]) / 2**20, 1)
            redis_keys = int(r.dbsize())
        finally:
            r.close()
        for name, result in rows.items():
            kinds = {k[len("errors_"):]: v for k, v in result.items()
                     if k.startswith("errors_") and v}
            entry = self.bench.add(name, 1, [result], step=k, dimension=dimension, size=size,
                                   state=state, overflow=result.get("overflow", 0),
                                   error_kinds=kinds)
            self.points.append(entry)
        intro = self.points[-3]
        intro["over_ceiling"] = round(intro["rps"] / max(self.points[-4]["rps"], 1e-9), 3)
        self.points[-1].update(worker_rss_mb=srv.rss(), redis_used_mb=redis_mb,
                               redis_keys=redis_keys, seed_s=round(seeded, 1))
        log(f"  worker RSS {srv.rss()} MB, Redis {redis_mb} MB / {redis_keys} keys")

    # ------------------------------------------------------------------ rebuild
    def rebuild(self, srv: Server, access: Path) -> dict[str, Any]:
        """Flush this run's Redis DB with every revocation in PostgreSQL; poll meanwhile."""
        a = self.args
        lines = access.read_text().splitlines()
        revoked, live = token_of(lines[0]), token_of(lines[1])
        form = {"Authorization": self.bench.client_auth, "User-Agent": UA}
        with httpx.Client(base_url=srv.url, headers=form, timeout=30) as http:
            assert http.post("/revoke", data={"token": revoked}).status_code == 200
            before = {name: http.post("/introspect", data={"token": tok}).json()["active"]
                      for name, tok in (("revoked", revoked), ("unrevoked", live))}
        assert before == {"revoked": False, "unrevoked": True}, before
        in_pg = asyncio.run(seed_curve.count(self.dsn, "revocations"))
        log(f"=== rebuild: {in_pg} revocations in PostgreSQL; flushing Redis DB "
            f"{self.redis_url.rsplit('/', 1)[1]} ===")
        stop = threading.Event()
        polls: dict[str, list[dict[str, Any]]] = {"revoked": [], "unrevoked": []}
        progress: list[tuple[float, int]] = []
        marker_at: list[float] = []
        r = redis.Redis.from_url(self.redis_url)
        with r.pipeline(transaction=True) as pipe:  # our own logical DB only; keep the claim
            pipe.flushdb()
            pipe.set(CLAIM_KEY, self.claim, ex=7200)
            pipe.execute()
        t0 = time.monotonic()

        def poll(name: str, tok: str) -> None:
            with httpx.Client(base_url=srv.url, headers=form, timeout=a.poll_timeout) as http:
                while not stop.is_set():
                    start = time.monotonic() - t0
                    try:
                        resp = http.post("/introspect", data={"token": tok})
                        status = resp.status_code
                        active = resp.json().get("active") if status == 200 else None
                    except httpx.HTTPError as exc:
                        status, active = type(exc).__name__, None
                    polls[name].append({"t": round(start, 3),
                                        "ms": round((time.monotonic() - t0 - start) * 1000, 1),
                                        "status": status, "active": active})
                    time.sleep(a.poll_interval)

        threads = [threading.Thread(target=poll, args=(n, t), daemon=True)
                   for n, t in (("revoked", revoked), ("unrevoked", live))]
        for t in threads:
            t.start()
        deadline = t0 + a.rebuild_timeout
        while time.monotonic() < deadline:
            now = time.monotonic() - t0
            progress.append((round(now, 3), int(r.dbsize())))
            if not marker_at and r.exists(Keys.revocations_loaded):
                marker_at.append(now)
            if marker_at and now > marker_at[0] + a.after_rebuild:
                break
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(timeout=a.poll_timeout + 5)
        r.close()
        reloaded = [line for line in Path(srv.logfile.name).read_text().splitlines()
                    if "revocation list reloaded" in line]
        result = {
            "revocations_in_pg": in_pg,
            "rebuild_s": round(marker_at[0], 2) if marker_at else None,
            "server_log": reloaded[-1:] if reloaded else [],
            "polls": polls,
            "redis_keys": progress,
            "summary": {name: summarize(p) for name, p in polls.items()},
        }
        log(f"  rebuild {result['rebuild_s']} s; revoked: {result['summary']['revoked']}; "
            f"unrevoked: {result['summary']['unrevoked']}")
        if any(p["active"] is True for p in polls["revoked"]):
            log("  FAILURE: the revoked token was answered active during the rebuild")
        return result

    # ---------------------------------------------------------------------- run
    def run(self) -> dict[str, Any]:
        a, b = self.args, self.bench
        db_name, db_url = asyncio.run(create_database(a.pg))
        self.dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
        redis_index, self.claim = claim_redis(a.redis, a.redis_db)
        self.redis_url = f"{a.redis}/{redis_index}"
        log(f"database {db_name}, Redis DB {redis_index}, scratch {b.tmp}")
        b.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")},
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src"), str(SDK)]),
            "AUTHSVC_ENV": "production",
            "AUTHSVC_MAIL_TRANSPORT": "log",
            "AUTHSVC_LOG_LEVEL": "INFO",
            "AUTHSVC_DATABASE_URL": db_url,
            "AUTHSVC_REDIS_URL": self.redis_url,
            "AUTHSVC_JWT_SECRET": secrets.token_urlsafe(48),
            "AUTHSVC_ENCRYPTION_KEY": secrets.token_urlsafe(48),
            "AUTHSVC_ISSUER": "https://id.example.com",
            # Measure the work, not the limiter nor the lockout (as benchmarks/run.py does).
            "AUTHSVC_RATE_LIMIT_INTROSPECT": UNLIMITED,
            "AUTHSVC_RATE_LIMIT_TOKEN": UNLIMITED,
            "AUTHSVC_LOCKOUT_MAX_ATTEMPTS": "1000000",
            "AUTHSVC_STUFFING_USERNAMES_THRESHOLD": "1000000",
        }
        started = time.time()
        load = {"before": uptime()}
        rebuild: dict[str, Any] = {}
        try:
            b.prepare("curve-resource-server")
            self.hashed = seed_curve.password_hash(PASSWORD, a.bcrypt_rounds)
            self.grow(*self.steps[0])
            b.emails = self.sample_emails(100)
            access, _ = b.seed_tokens(access=a.access_tokens, tag="-curve")
            # The ceiling (benchmarks/bare_app.py, as run.py serves it) idles beside authsvc
            # and gets a short run each step: a yardstick for how loaded the box is right then.
            with Server("authsvc", [PY, "-m", "authsvc", "serve", "--workers", "1",
                                    "--port", str(a.port)], b.env, a.port, 1) as srv, \
                    Server("ceiling", [PY, str(HERE / "serve.py"),
                                       "benchmarks.bare_app:create_app", "--port",
                                       str(a.port + 1), "--workers", "1"],
                           b.env, a.port + 1, 1) as ceiling:
                b.check_paths(srv.url, access)
                for k, (dimension, size) in enumerate(self.steps):
                    self.step(srv, ceiling, access, k, dimension, size)
                load["after_curve"] = uptime()
                if not a.no_rebuild:
                    rebuild = self.rebuild(srv, access)
        finally:
            asyncio.run(drop_database(a.pg, db_name))
            release_redis(a.redis, redis_index)
            shutil.rmtree(b.tmp, ignore_errors=True)
        load["after"] = uptime()
        return {
            "command": " ".join(["python", "benchmarks/curve.py", *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(time.time() - started),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "load": load},
            "settings": {k: v for k, v in vars(a).items()
                         if k not in ("pg", "redis") and not isinstance(v, Path)},
            "steps": [{"dimension": d, "size": s} for d, s in self.steps],
            "points": self.points,
            "rebuild": rebuild,
        }


def summarize(polls: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of each answer, and when the first and last non-200 answers came."""
    answers: dict[str, int] = {}
    for p in polls:
        key = f"active={p['active']}" if p["status"] == 200 else str(p["status"])
        answers[key] = answers.get(key, 0) + 1
    odd = [p for p in polls if p["status"] != 200]
    return {"requests": len(polls), "answers": answers,
            "slowest_ms": max((p["ms"] for p in polls), default=None),
            "non_200_from_s": odd[0]["t"] if odd else None,
            "non_200_until_s": round(odd[-1]["t"] + odd[-1]["ms"] / 1000, 3) if odd else None}


# ------------------------------------------------------------------------ figures


def plot(result: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    points = result["points"]
    dims = [("users", "users"), ("revocations", "live revocations"),
            ("families", "active refresh families")]
    colours = dict(zip(ROWS, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    fig, axes = plt.subplots(3, 3, figsize=(14, 11), sharex="col")
    for col, (dim, label) in enumerate(dims):
        steps = sorted({p["step"] for p in points if p["dimension"] == dim})
        if not steps:
            continue
        base = steps[0] - 1  # the step before the dimension grew: its baseline

        def x_of(p: dict[str, Any], dim: str = dim) -> int:
            state = p["state"]
            return int(state.get("families_in_db", 0) if dim == "families" else state[dim])

        for row in ROWS:
            ref = next((p for p in points if p["row"] == row and p["step"] == base), None)
            mine = [p for p in points if p["row"] == row and p["step"] in steps]
            if ref is not None and x_of(ref) > 0:
                mine.insert(0, ref)  # a baseline that has some already is a point of the curve
                ref = None
            xs = [x_of(p) for p in mine]
            for ax, key in ((axes[0][col], "rps"), (axes[1][col], "p50_ms"),
                            (axes[2][col], "p99_ms")):
                ax.plot(xs, [p[key] for p in mine], "o-", color=colours[row], label=row)
                if ref is not None:
                    ax.axhline(ref[key], color=colours[row], ls=":", lw=1)
            if row == ROWS[0]:  # the yardstick measured next to each point: the box's load
                sticks = [next((c for c in points if c["row"] == CEILING
                                and c["step"] == p["step"]), None) for p in mine]
                if all(sticks):
                    axes[0][col].plot(xs, [c["rps"] for c in sticks if c], "s--", color="grey",
                                      ms=4, lw=1, label="ceiling (bare endpoint), same moment")
        for r, ylabel in enumerate(("req/s", "p50 latency (ms)", "p99 latency (ms)")):
            ax = axes[r][col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            if col == 0:
                ax.set_ylabel(ylabel)
        axes[2][col].set_xlabel(label + (" (dotted: none)" if dim == "revocations" else ""))
        axes[0][col].set_title(f"cost vs {label}")
    axes[0][0].legend(fontsize=7, loc="lower left")
    load = result["machine"]["load"].get("before", "")
    fig.suptitle(f"authsvc cost curve, 1 worker, production profile ({result['started']})\n"
                 f"load before: {load.split('load average:')[-1].strip()}", fontsize=10)
    fig.tight_layout()
    curve = out / "cost-curve.png"
    fig.savefig(curve, dpi=90)
    plt.close(fig)
    written = [curve]

    rb = result.get("rebuild") or {}
    if rb.get("polls"):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
        # Colour by what the answer means for that token: right, refused (503, timeout), wrong.
        right = {"revoked": "active=False", "unrevoked": "active=True"}
        for name, y in (("revoked", 1), ("unrevoked", 0)):
            for p in rb["polls"][name]:
                key = f"active={p['active']}" if p["status"] == 200 else str(p["status"])
                colour, marker = (("tab:green", "o") if key == right[name] else
                                  ("tab:red", "X") if key.startswith("active=") else
                                  ("tab:purple", "s"))
                top.plot([p["t"], p["t"] + p["ms"] / 1000], [y, y], "-", color=colour, lw=6,
                         alpha=0.5, solid_capstyle="butt")
                top.plot([p["t"] + p["ms"] / 1000], [y], marker, color=colour, ms=4)
        top.plot([], [], "o", color="tab:green", label="right answer (revoked: false, other: true)")
        top.plot([], [], "s", color="tab:purple", label="503 / timeout")
        top.plot([], [], "X", color="tab:red", label="wrong answer")
        top.set_yticks([0, 1], ["unrevoked token", "revoked token"])
        top.set_ylim(-0.6, 1.6)
        top.legend(fontsize=8, loc="upper right", ncol=3)
        top.set_title(f"/introspect while the revocation list is rebuilt "
                      f"({rb['revocations_in_pg']:,} in PostgreSQL)\n"
                      "bar: a request in flight, mark: its answer")
        ts, keys = zip(*rb["redis_keys"], strict=True)
        bottom.plot(ts, keys, "-", color="tab:blue")
        bottom.set_ylabel("keys in Redis DB")
        bottom.set_xlabel("seconds since FLUSHDB")
        bottom.grid(True, alpha=0.3)
        if rb.get("rebuild_s") is not None:
            for ax in (top, bottom):
                ax.axvline(rb["rebuild_s"], color="grey", ls="--")
            bottom.annotate(f"list complete: {rb['rebuild_s']} s", (rb["rebuild_s"], 0),
                            textcoords="offset points", xytext=(5, 10), fontsize=8)
        fig.tight_layout()
        timeline = out / "rebuild-timeline.png"
        fig.savefig(timeline, dpi=90)
        plt.close(fig)
        written.append(timeline)
    return written


def print_table(result: dict[str, Any]) -> None:
    head = (f"{'step':>4} {'users':>9} {'revoked':>9} {'families':>8} {'row':<28} {'req/s':>8}"
            f" {'p50 ms':>8} {'p99 ms':>8} {'err':>5}")
    print(head)
    print("-" * len(head))
    for p in result["points"]:
        s = p["state"]
        ratio = f"  ({p['over_ceiling']} x ceiling)" if "over_ceiling" in p else ""
        print(f"{p['step']:>4} {s['users']:>9} {s['revocations']:>9} "
              f"{s.get('families_in_db', s['families']):>8} {p['row'][:28]:<28} {p['rps']:>8.1f}"
              f" {p['p50_ms']:>8.2f} {p['p99_ms']:>8.2f} {p['errors']:>5}{ratio}")
    rb = result.get("rebuild") or {}
    if rb:
        print(f"\nrebuild of {rb['revocations_in_pg']} revocations: {rb['rebuild_s']} s "
              f"({rb['server_log']})")
        for name, summary in rb["summary"].items():
            print(f"  {name}: {summary}")
    print(f"\nload: {result['machine']['load']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    p.add_argument("--duration", type=float, default=6, help="seconds a wrk row")
    p.add_argument("--warmup", type=float, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--login-duration", type=float, default=6)
    p.add_argument("--login-connections", type=int, default=8)
    p.add_argument("--access-tokens", type=int, default=200)
    p.add_argument("--bcrypt-rounds", type=int, default=12, help="the production default")
    p.add_argument("--poll-interval", type=float, default=0.02)
    p.add_argument("--poll-timeout", type=float, default=60)
    p.add_argument("--rebuild-timeout", type=float, default=180)
    p.add_argument("--after-rebuild", type=float, default=2,
                   help="seconds to keep polling once the list is complete")
    p.add_argument("--no-rebuild", action="store_true")
    p.add_argument("--port", type=int, default=18210)
    p.add_argument("--pg", default=os.environ.get("BENCH_PG",
                                                  "postgresql://postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"))
    p.add_argument("--redis-db", type=int, default=12)
    p.add_argument("--out", type=Path, default=HERE / "results" / "curve.json")
    p.add_argument("--figures", type=Path, default=FIGURES)
    p.add_argument("--plot-only", type=Path, metavar="JSON",
                   help="redraw the figures from a result file, run nothing")
    args = p.parse_args()
    if args.plot_only:
        result = json.loads(args.plot_only.read_text())
    else:
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
        result = Curve(args).run()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {args.out}")
    print_table(result)
    try:
        for path in plot(result, args.figures):
            print(f"figure {path}")
    except ImportError:
        print("matplotlib is not installed: pip install matplotlib (figures skipped)")


if __name__ == "__main__":
    main()
