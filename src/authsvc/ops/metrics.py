"""Prometheus metrics (`authsvc_*`), single-process or prometheus-client's multiprocess mode.

With `PROMETHEUS_MULTIPROC_DIR` set (as `authsvc serve --workers N` does), every worker writes
its samples to files in that directory and a scrape of any worker sums them, so the figures add
up across workers. Without it, one in-process registry per app.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from authsvc.ops.meter import Meter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MFA_FACTORS = frozenset({"totp", "email", "recovery_code", "otp", "mfa"})
MFA_FAILURE_EVENTS = frozenset({"mfa_failure", "mfa_token_void", "step_up_failure"})
# Passkey audit events → (operation, outcome) of authsvc_passkey_operations_total.
PASSKEY_EVENTS = {
    "passkey_registered": ("register", "success"),
    "passkey_registration_failed": ("register", "failure"),
    "passkey_removed": ("remove", "success"),
    "passkey_login_failure": ("login", "failure"),
    "passkey_failure": ("second_factor", "failure"),
    "passkey_sign_count_regressed": ("sign_count", "regressed"),
}


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class PrometheusMeter(Meter):
    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        # In multiprocess mode samples go to files; this registry only keeps names unique.
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Histogram(
            "authsvc_http_request_duration_seconds", "HTTP request latency by route template",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.logins = Counter("authsvc_logins_total", "Login attempts by outcome",
                              ["outcome"], registry=r)
        self.lockouts = Counter("authsvc_lockouts_total", "Usernames locked out", registry=r)
        self.mfa_failures = Counter("authsvc_mfa_failures_total", "Wrong second factors",
                                    registry=r)
        self.tokens = Counter("authsvc_tokens_total",
                              "Tokens issued, refreshed, revoked and reused", ["event"],
                              registry=r)
        self.introspections = Histogram(
            "authsvc_introspection_duration_seconds", "Introspection latency by outcome",
            ["outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.cache = Counter("authsvc_user_cache_lookups_total", "User-cache lookups",
                             ["result"], registry=r)
        self.mail_sent_total = Counter("authsvc_mail_sent_total",
                                       "Mails handed to the mail transport", registry=r)
        self.mail_failures = Counter("authsvc_mail_failures_total",
                                     "Mails undeliverable after every retry", registry=r)
        self.events = Counter("authsvc_security_events_total", "Audit events by type",
                              ["type"], registry=r)
        self.passkeys = Counter("authsvc_passkey_operations_total",
                                "Passkey (WebAuthn) ceremonies by operation and outcome",
                                ["operation", "outcome"], registry=r)
        self.db_checked_out = Gauge("authsvc_db_pool_checked_out",
                                    "Database connections in use", registry=r,
                                    multiprocess_mode="livesum")
        self.db_size = Gauge("authsvc_db_pool_size", "Database pool size (configured)", registry=r,
                             multiprocess_mode="livesum")
        self.redis_in_use = Gauge("authsvc_redis_pool_in_use", "Redis connections in use",
                                  registry=r, multiprocess_mode="livesum")
        self._hit = self.cache.labels("hit")
        self._miss = self.cache.labels("miss")

    # ------------------------------------------------------------------ Meter
    def event(self, type: str, details: dict[str, Any]) -> None:
        self.events.labels(type).inc()
        if type in PASSKEY_EVENTS:
            self.passkeys.labels(*PASSKEY_EVENTS[type]).inc()
        if type == "login_success":
            self.logins.labels("success").inc()
            if details.get("method") == "passkey":
                self.passkeys.labels("login", "success").inc()
        elif type == "login_failure":
            factor = details.get("factor", "password")
            self.logins.labels("failure").inc()
            if factor in MFA_FACTORS:
                self.mfa_failures.inc()
        elif type == "login_locked":
            self.logins.labels("locked").inc()
        elif type == "lockout":
            self.lockouts.inc()
        elif type == "token_reuse":
            self.tokens.labels("reused").inc()
        elif type in MFA_FAILURE_EVENTS:
            self.mfa_failures.inc()

    def token(self, kind: str) -> None:
        self.tokens.labels(kind).inc()

    def introspection(self, outcome: str, seconds: float) -> None:
        self.introspections.labels(outcome).observe(seconds)

    def user_cache(self, hit: bool) -> None:
        (self._hit if hit else self._miss).inc()

    def mail_sent(self) -> None:
        self.mail_sent_total.inc()

    def mail_failed(self) -> None:
        self.mail_failures.inc()

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, status).observe(seconds)

    # ----------------------------------------------------------------- scrape
    def sample_pools(self, engine: Any, redis: Any) -> None:
        """Pool gauges, read at scrape time (and by each worker's sampler in multiprocess mode)."""
        pool = engine.sync_engine.pool
        if hasattr(pool, "checkedout"):
            self.db_checked_out.set(pool.checkedout())
            self.db_size.set(pool.size())
        in_use = getattr(getattr(redis, "connection_pool", None), "_in_use_connections", None)
        if in_use is not None:
            self.redis_in_use.set(len(in_use))

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)


def mark_worker_dead() -> None:
    """Called as a worker exits: its live gauges stop counting (counters are kept)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
