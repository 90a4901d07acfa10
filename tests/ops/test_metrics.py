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
    assert all(line.startswith(("#", "authsvc_")) for line in text.splitlines() if line)


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
    assert "not-a-uuid" not in text and "12345" not in text
    assert 'route="<unmatched>"' in text


async def test_metrics_can_be_restricted(make_settings) -> None:
    app = create_app(make_settings(metrics_allow=["192.0.2.0/24"]))
    async with infra.running(app):
        async with Api(app, ip="10.1.2.3") as outsider:
            assert (await outsider.get("/metrics")).status_code == 403
        async with Api(app, ip="192.0.2.7") as scraper:
            assert (await scraper.get("/metrics")).status_code == 200
