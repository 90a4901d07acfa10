"""The benchmark harness's own logic, without timing anything: how it reads wrk and pgbench,
how it turns rows into issue 20's targets, what --quick means, and that refresh.lua really
chains (each response's refresh token spent by the next request on the same connection)."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from benchmarks import run


def wrk_line(**over: Any) -> str:
    data = {"requests": 500, "duration_us": 2_000_000, "bytes": 1, "p50_us": 2000,
            "p90_us": 5000, "p99_us": 9000, "max_us": 20000, "mean_us": 2500.0,
            "errors_connect": 0, "errors_read": 1, "errors_write": 0, "errors_status": 2,
            "errors_timeout": 0, "overflow": 0, "broken": 0, **over}
    return "Running 2s test\n  2 threads\nBENCH_RESULT " + json.dumps(data) + "\n"


def test_parse_wrk_rate_and_errors() -> None:
    data = run.parse_wrk(wrk_line())
    assert data["rps"] == 250.0
    assert data["errors"] == 3


def test_parse_wrk_without_result_line_fails() -> None:
    with pytest.raises(RuntimeError, match="no result"):
        run.parse_wrk("Running 2s test\n")


PGBENCH_OUT = """\
transaction type: <builtin: simple update>
scaling factor: 1
number of clients: 32
number of threads: 2
duration: 3 s
number of transactions actually processed: 4650
latency average = 20.617 ms
initial connection time = 35.102 ms
tps = 1552.115430 (without initial connection time)
"""


def test_parse_pgbench() -> None:
    assert run.parse_pgbench(PGBENCH_OUT) == {"rps": 1552.11543, "mean_ms": 20.617}
    with pytest.raises(RuntimeError):
        run.parse_pgbench("pgbench: error: connection refused\n")


def test_pgbench_dsn_replaces_the_database() -> None:
    assert run.pgbench_dsn("postgresql://u:p@127.0.0.1:5432/postgres", "b1") == \
        "postgresql://u:p@127.0.0.1:5432/b1"


def row(name: str, workers: int, rps: float, p50: float | None = 1.0,
        p99: float | None = 2.0) -> dict[str, Any]:
    return {"row": name, "workers": workers, "rps": rps, "p50_ms": p50, "p99_ms": p99}


def test_targets_ratios_per_worker_count() -> None:
    rows = [
        row(run.INTROSPECTION, 1, 1000, p50=4.0, p99=40.0),
        row(run.BEARER, 1, 250),
        row(run.RAW_ASGI, 1, 1000),
        row(run.PEER_CC, 0, 400),  # measured once, shared by every worker count
        row(run.CLIENT_CREDENTIALS, 1, 600),
        row(run.CLIENT_CREDENTIALS, 2, 200),
        row(run.HALF_RATE, 1, 500, p99=5.0),
        row(run.PGBENCH, 0, 2000, None, None),
        row(run.REFRESH, 1, 1600),
    ]
    found = {(t["path"], t["workers"]): t for t in run.evaluate_targets(rows, [1, 2])}
    bearer = found[("GET /users/me", 1)]
    assert (bearer["measured"], bearer["ratio_to_target"], bearer["met"]) == (0.25, 0.5, False)
    cc1, cc2 = found[("POST /token client_credentials", 1)], found[
        ("POST /token client_credentials", 2)]
    assert (cc1["measured"], cc1["met"]) == (1.5, True)
    assert (cc2["measured"], cc2["met"]) == (0.5, False)
    tail = found[("POST /introspect tail at saturation", 1)]
    assert (tail["measured"], tail["ratio_to_target"], tail["met"]) == (10.0, 0.5, False)
    half = found[("POST /introspect p99 at half rate", 1)]
    assert (half["measured"], half["ratio_to_target"], half["met"]) == (5.0, 2.0, True)
    assert found[("refresh chains vs pgbench -N", 1)]["ratio_to_target"] == 1.0
    # Rows this run did not measure give no figure rather than a made-up one.
    assert found[("GET /users/me", 2)]["measured"] is None
    assert found[("GET /users/me", 2)]["met"] is None
    # The peer comparison has no target: measured, never met or missed.
    peer = found[("POST /introspect vs oidc-provider", 1)]
    assert peer["measured"] is None and peer["ratio_to_target"] is None
    # Each row carries its targets, for the table and latest.json.
    intro = next(r for r in rows if r["row"] == run.INTROSPECTION)
    assert {t["path"] for t in intro["targets"]} == {
        "POST /introspect tail at saturation", "POST /introspect vs raw ASGI",
        "POST /introspect vs oidc-provider"}


def test_print_table_shows_ratio_to_target(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{**row(run.BEARER, 1, 250), "rps_min": 240, "rps_max": 260, "errors": 0},
            {**row(run.INTROSPECTION, 1, 1000), "rps_min": 990, "rps_max": 1010, "errors": 0},
            {**row(run.PGBENCH, 0, 2000, None, None), "rps_min": 2000, "rps_max": 2000,
             "errors": 0}]
    targets = run.evaluate_targets(rows, [1])
    run.print_table({"rows": rows, "targets": targets, "ratios": [],
                     "machine": {"cpus": 2, "load_average": [1.0, 2.0, 3.0]}})
    out = capsys.readouterr().out
    bearer_line = next(line for line in out.splitlines() if line.startswith(run.BEARER))
    assert "0.50 (GET /users/me)" in bearer_line
    assert "load average at the end: 1.00 2.00 3.00" in out


def test_quick_defaults_and_explicit_flags_win() -> None:
    args = run.parse_args(["--quick"])
    assert (args.workers, args.duration, args.repeat) == ([1], 3.0, 1)
    args = run.parse_args(["--quick", "--duration", "5", "--port", "18500"])
    assert (args.duration, args.port, args.workers) == (5.0, 18500, [1])
    full = run.parse_args([])
    assert (full.workers, full.duration, full.log_level) == ([1, 2], 10, "INFO")


class ChainServer(BaseHTTPRequestHandler):
    """POST /token: answers a new refresh token and notes, per connection (one handler a
    connection under HTTP/1.1 keep-alive), whether the token presented was the last one it
    answered on that connection. Every fifth request gets a 503 instead (spending nothing):
    the next request on that connection must bring the same token again."""

    protocol_version = "HTTP/1.1"
    issued = 0
    lock = threading.Lock()
    seeded: set[str] = set()
    spent: set[str] = set()
    violations: list[str] = []
    requests = 0
    failed = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        token = parse_qs(body)["refresh_token"][0]
        cls = type(self)
        with cls.lock:
            cls.requests += 1
            if cls.requests % 5 == 0:  # a timeout: nothing spent, the client must retry it
                cls.failed += 1
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            last = getattr(self, "last", None)
            if token in cls.spent:
                cls.violations.append(f"{token} sent twice")
            elif last is None and token not in cls.seeded:
                cls.violations.append(f"first token {token} was not seeded")
            elif last is not None and token != last:
                cls.violations.append(f"{token} is not this connection's last ({last})")
            cls.spent.add(token)
            cls.issued += 1
            self.last = f"rt.{cls.issued}/~x"  # '/' must be percent-encoded by the script
        answer = json.dumps({"access_token": "a", "refresh_token": self.last}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_refresh_script_chains_on_each_connection(tmp_path: Path) -> None:
    conns = 4
    ChainServer.seeded = {f"seed-{k}" for k in range(conns)}
    bodies = tmp_path / "chains.txt"
    bodies.write_text("".join(f"grant_type=refresh_token&refresh_token={t}\n"
                              for t in sorted(ChainServer.seeded)))
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChainServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run.run_wrk(url, "refresh.lua", run.wrk_env(bodies), 1, conns, threads=conns)
    finally:
        server.shutdown()
        server.server_close()
    assert ChainServer.violations == []
    assert ChainServer.requests > conns  # the chains went on past their seeded tokens
    assert ChainServer.failed > 0 and result["broken"] == 0
    assert result["retried"] == result["errors_status"] > 0


def test_rows_keep_errors_by_kind_and_rates_without_latency(tmp_path: Path) -> None:
    bench = run.Bench(run.parse_args(["--out", str(tmp_path / "x.json")]))
    try:
        entry = bench.add("some row", 1, [run.parse_wrk(wrk_line()),
                                          run.parse_wrk(wrk_line(p99_us=11000))])
        assert entry["errors"] == 6
        assert entry["errors_by_kind"] == {"read": 2, "status": 4}
        assert (entry["p50_ms"], entry["p99_ms"], entry["p99_ms_max"]) == (2.0, 10.0, 11.0)
        rate = bench.add_rate(run.PGBENCH, 0, [1000.0, 3000.0])
        assert (rate["rps"], rate["rps_min"], rate["p50_ms"], rate["p99_ms"]) == (
            2000.0, 1000.0, None, None)
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)


def test_a_row_that_measured_nothing_misses_its_target() -> None:
    rows = [row(run.LOGIN, 1, 0.0), row(run.BCRYPT_CORES, 1, 8.0, None, None)]
    run.evaluate_targets(rows, [1])  # twice: the rows' annotations are not doubled
    found = {t["path"]: t for t in run.evaluate_targets(rows, [1])}
    login = found["password login vs raw bcrypt"]
    assert (login["measured"], login["ratio_to_target"], login["met"]) == (0.0, 0.0, False)
    assert len(rows[0]["targets"]) == 1


def test_error_statuses_come_from_the_access_log(tmp_path: Path) -> None:
    server = run.Server("authsvc", ["true"], {}, 18099, 1, log_dir=tmp_path)
    server.logfile.write(b'authsvc: production profile\n'
                         b'{"level":"INFO","method":"POST","route":"/token","status":503}\n'
                         b'{"level":"INFO","method":"POST","route":"/token","status":503}\n'
                         b'{"level":"INFO","method":"POST","route":"/introspect","status":200}\n'
                         b'{"level":"INFO","method":"GET","route":"/users/me","status":401}\n'
                         b'{"status":5 broken line\n')
    server.logfile.flush()
    assert server.error_statuses() == {"POST /token 503": 2, "GET /users/me 401": 1}
