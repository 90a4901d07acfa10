"""AUTHSVC_REDIS_MODE and its settings: validation, and the client make_redis builds (no server)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from authsvc.config import ConfigError, load_settings
from authsvc.kv import make_redis


def settings(**values: object):  # type: ignore[no-untyped-def]
    return load_settings(env="testing", **values)


def test_sentinel_mode_needs_sentinels_and_cluster_mode_a_startup_node() -> None:
    with pytest.raises(ConfigError, match="AUTHSVC_REDIS_SENTINELS"):
        settings(redis_mode="sentinel")
    with pytest.raises(ConfigError, match="AUTHSVC_REDIS_URL"):
        settings(redis_mode="cluster")
    with pytest.raises(ConfigError, match="AUTHSVC_REDIS_SENTINELS"):
        settings(redis_mode="sentinel", redis_sentinels="no-port-here")
    with pytest.raises(ConfigError, match="AUTHSVC_REDIS_MODE"):
        settings(redis_mode="replicated")


def test_sentinels_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSVC_REDIS_MODE", "sentinel")
    monkeypatch.setenv("AUTHSVC_REDIS_SENTINELS", "s1:26379, [::1]:26380")
    monkeypatch.setenv("AUTHSVC_REDIS_SENTINEL_MASTER", "auth")
    loaded = settings()
    assert loaded.sentinel_addresses == [("s1", 26379), ("::1", 26380)]
    assert loaded.redis_sentinel_master == "auth"
    assert not loaded.embedded_redis  # no URL needed: the sentinels name the master


async def test_make_redis_builds_the_client_of_the_mode() -> None:
    standalone = make_redis(settings(redis_url="redis://127.0.0.1:1/3"))
    assert type(standalone) is Redis
    cluster = make_redis(settings(redis_mode="cluster", redis_url="redis://127.0.0.1:1"))
    assert isinstance(cluster, RedisCluster)
    sentinel = make_redis(settings(redis_mode="sentinel", redis_sentinels="127.0.0.1:1",
                                   redis_sentinel_master="auth",
                                   redis_url="redis://u:p%40ss@ignored/4"))
    assert isinstance(sentinel, Redis)
    kwargs = sentinel.connection_pool.connection_kwargs
    assert (kwargs["db"], kwargs["username"], kwargs["password"]) == (4, "u", "p@ss")
    assert sentinel.connection_pool.service_name == "auth"
    for client in (standalone, cluster, sentinel):
        await client.aclose()


def test_production_accepts_sentinel_mode_without_a_url() -> None:
    loaded = load_settings(env="production", database_url="postgresql+asyncpg://db/authsvc",
                           jwt_secret="j" * 40, encryption_key="e" * 40, smtp_host="mail",
                           redis_mode="sentinel", redis_sentinels="s1:26379")
    assert not loaded.embedded_redis
