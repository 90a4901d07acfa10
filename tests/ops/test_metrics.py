"""GET /metrics: Prometheus text, `authsvc_` names, counters that move."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from authsvc.main import create_app
from tests import flows, infra
from tests.infra import Api

NAMES = (
    "authsvc_http_request_duration_seconds", "authsvc_logins_total", "authsvc_lockouts_total",
    "authsvc_mfa_failures_total", "authsvc_tokens_total",
    "authsvc_introspection_duration_seconds", "authsvc_user_cache_lookups_total",
    "authsvc_db_pool_checked_out", "authsvc_db_pool_size", "authsvc_redis_pool_in_use",
    "authsvc_mail_failures_total",
)


async def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_every_metric_is_exposed(api: Api) -> None:
    text = (await api.get("/metrics")).text
    for name in NAMES:
        assert re.search(rf"^# TYPE {name} ", text, re.M), name
    # authsvc_* and the standard process_* collector (issue 19), nothing else
    assert all(line.startswith(("#", "authsvc_", "process_")) for line in text.splitlines()
               if line)


async def test_counters_move(api: Api, service_client) -> None:
    before = await scrape(api)
    user = await flows.register(api)
    issued = await flows.login(api, user)
    await flows.password_grant(api, user["email"], "Wrong-Password-123!")
    await flows.refresh(api, issued["refresh_token"])
    await flows.introspect(api, service_client, issued["access_token"])
    await flows.introspect(api, service_client, "not-a-token")
    after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("authsvc_logins_total", outcome="success") == 1
    assert moved("authsvc_logins_total", outcome="failure") == 1
    assert moved("authsvc_tokens_total", event="issued") == 1
    assert moved("authsvc_tokens_total", event="refreshed") == 1
    assert moved("authsvc_introspection_duration_seconds_count", outcome="active") == 1
    assert moved("authsvc_introspection_duration_seconds_count", outcome="inactive") == 1
    assert moved("authsvc_user_cache_lookups_total", result="hit") + moved(
        "authsvc_user_cache_lookups_total", result="miss") >= 1
    assert moved("authsvc_http_request_duration_seconds_count",
                 route="/token", method="POST", status="200") == 2
    assert value(after, "authsvc_db_pool_size") >= 1


async def test_route_label_is_the_template(api: Api, admin) -> None:
    await api.patch("/admin/users/not-a-uuid", json={}, headers=admin["headers"])
    await api.get("/no/such/path/12345")
    text = (await api.get("/metrics")).text
    assert 'route="/admin/users/{user_id}"' in text
    labels = " ".join(line.split(" ")[0] for line in text.splitlines() if "{" in line)
    assert "not-a-uuid" not in labels and "12345" not in labels  # (a sample's value may hold it)
    assert 'route="<unmatched>"' in text


async def test_metrics_can_be_restricted(make_settings) -> None:
    app = create_app(make_settings(metrics_allow=["192.0.2.0/24"]))
    async with infra.running(app):
        async with Api(app, ip="10.1.2.3") as outsider:
            assert (await outsider.get("/metrics")).status_code == 403
        async with Api(app, ip="192.0.2.7") as scraper:
            assert (await scraper.get("/metrics")).status_code == 200


async def test_process_metrics_build_info_and_no_created_duplicates(api: Api) -> None:
    from authsvc import __version__

    text = (await api.get("/metrics")).text
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_start_time_seconds"):
        assert re.search(rf"^{name} ", text, re.M), name
    assert re.search(rf'^authsvc_build_info{{python="[0-9.]+",version="{re.escape(__version__)}"}}'
                     r" 1\.0$", text, re.M), text[:400]
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
             if line and not line.startswith("#")}
    assert not [name for name in names if name.endswith("_created")]


async def test_429s_are_counted_by_reason(make_settings) -> None:
    app = create_app(make_settings(rate_limit_token="2/60", lockout_max_attempts=2,
                                   lockout_cooldown_base=0))
    async with infra.running(app), Api(app) as api:
        before = await scrape(api)
        user = await flows.register(api)
        # Two wrong passwords lock the username; the third attempt is 429 temporarily_locked.
        for _ in range(2):
            await flows.password_grant(api, user["email"], "Wrong-Password-123!")
        async with Api(app) as other:  # another address: not yet over its rate limit
            locked = await flows.password_grant(other, user["email"], "Wrong-Password-123!")
            assert locked.status_code == 429 and locked.json()["error"] == "temporarily_locked"
        limited = await flows.password_grant(api, user["email"], "Wrong-Password-123!")
        assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
        after = await scrape(api)
    for reason in ("temporarily_locked", "rate_limited"):
        moved = (value(after, "authsvc_rate_limited_total", reason=reason)
                 - value(before, "authsvc_rate_limited_total", reason=reason))
        assert moved == 1, reason


async def test_mails_sent_and_failed_are_counted(make_settings, smtp_sink) -> None:
    app = create_app(make_settings(**smtp_sink.settings()))
    async with infra.running(app), Api(app) as api:
        await flows.register(api)  # a verification mail
        await smtp_sink.wait_for(1)
        await app.state.authsvc.courier.drain(5)
        samples = await scrape(api)
    assert value(samples, "authsvc_mails_total", outcome="sent") >= 1
    assert value(samples, "authsvc_mails_total", outcome="failed") == 0
    failing = create_app(make_settings(smtp_host="127.0.0.1", smtp_port=1, smtp_tls="none",
                                       smtp_retries=0, smtp_timeout=1))
    async with infra.running(failing), Api(failing) as api:
        await flows.register(api)
        await failing.state.authsvc.courier.drain(5)
        samples = await scrape(api)
    assert value(samples, "authsvc_mails_total", outcome="failed") >= 1
