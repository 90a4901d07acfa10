"""The key/value store: Redis through a pool, or an in-process stand-in for development.

Every key authsvc writes is named here, so the layout can be read in one place. Keys that one
Lua script or transaction touches together share a `{hash tag}`, so every atomic rule still holds
on Redis Cluster.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlparse

from redis.asyncio import BlockingConnectionPool, Redis

from authsvc.config import ConfigError, Settings

log = logging.getLogger("authsvc.kv")

PREFIX = "authsvc:"
CLUSTER_MIN_POOL = 512  # connections per node and worker with Sentinel or Cluster (make_redis)


def make_redis(settings: Settings) -> Redis:
    """The Redis client of AUTHSVC_REDIS_MODE: one server, a Sentinel-watched master, or a Cluster.

    All three answer the same commands, Lua scripts and (single-slot) transactions; the callers
    never need to know which one they hold.
    """
    if settings.embedded_redis:
        try:
            import fakeredis
        except ImportError:
            raise ConfigError("AUTHSVC_REDIS_URL is unset and the in-process Redis stand-in is "
                              "not installed: set AUTHSVC_REDIS_URL, or "
                              "pip install 'authsvc[embedded]'") from None

        log.warning(
            "AUTHSVC_REDIS_URL is unset: using the in-process Redis stand-in "
            "(development only, one process, nothing survives a restart)"
        )
        return fakeredis.FakeAsyncRedis(decode_responses=False)
    common: dict[str, Any] = {
        "max_connections": settings.redis_pool_size,
        "socket_timeout": settings.redis_timeout,
        "socket_connect_timeout": settings.redis_timeout,
        "health_check_interval": 30,
        "decode_responses": False,
    }
    if settings.redis_mode == "cluster":
        from redis.asyncio.cluster import RedisCluster

        assert settings.redis_url  # checked by Settings
        # max_connections is per node here. A MOVED/ASK reply or a failover is followed by
        # redis-py (slot table refresh); a timeout is still a timeout: 503, never "allowed".
        # redis-py's cluster pools do not block when full: they fail the command at once
        # (MaxConnectionsError). Give each node room for a worker's bursts of concurrency.
        cluster = {**common, "max_connections": max(settings.redis_pool_size, CLUSTER_MIN_POOL)}
        return RedisCluster.from_url(settings.redis_url, **cluster)  # type: ignore[return-value]
    if settings.redis_mode == "sentinel":
        return _sentinel_master(settings, common)
    assert settings.redis_url
    # One immediate retry on a broken connection: after a Redis restart every pooled connection
    # is dead, and without it each would fail one request (a 503) before being replaced. Time-outs
    # are not retried (a slow Redis must not make requests slower still).
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    # A blocking pool: a request past the pool size waits (up to the Redis timeout) for a
    # connection instead of failing at once; an exhausted pool is load, not an outage.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, timeout=settings.redis_timeout, retry=retry, **common
    )
    return Redis(connection_pool=pool)


class _SentinelMaster(Redis):
    """The master's client; closing it also closes the connections to the sentinels."""

    sentinel: Any = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinel is not None:
            for client in self.sentinel.sentinels:
                await client.aclose()


def _sentinel_master(settings: Settings, common: dict[str, Any]) -> Redis:
    from redis.asyncio.sentinel import Sentinel

    master: dict[str, Any] = {}
    if settings.redis_url:  # the master's database and credentials; the host is not used
        url = urlparse(settings.redis_url)
        db = url.path.lstrip("/")
        master = {"db": int(db) if db else 0, "username": unquote(url.username or "") or None,
                  "password": unquote(url.password or "") or None,
                  "ssl": url.scheme == "rediss"}
    timeouts = {"socket_timeout": settings.redis_timeout,
                "socket_connect_timeout": settings.redis_timeout}
    sentinel = Sentinel(settings.sentinel_addresses, sentinel_kwargs=timeouts)
    # Like the cluster's, the sentinel pool fails a command at once when full: give it room.
    pool = {**common, "max_connections": max(settings.redis_pool_size, CLUSTER_MIN_POOL)}
    client: _SentinelMaster = sentinel.master_for(settings.redis_sentinel_master,
                                                  redis_class=_SentinelMaster, **pool, **master)
    client.sentinel = sentinel
    return client


def invalidation_channel(redis: Any) -> str:
    """The pub/sub channel of one deployment. Redis pub/sub ignores the logical database: every
    client of a server hears every channel. Deployments that share a Redis server on different
    databases (or test runs: each claims one) would hear each other's revocations and marks, so
    the channel carries the database index, as the keys are kept apart by it."""
    kwargs = getattr(getattr(redis, "connection_pool", None), "connection_kwargs", None) or {}
    return f"{Keys.invalidations}:{kwargs.get('db') or 0}"


class Keys:
    """Names of every key; one static method a kind of key."""

    # The revocation list shares one hash tag with its "complete" sentinel: on a Cluster they
    # live on one node, so a node that loses its data (restart, failover to an empty replica)
    # loses the sentinel with the entries, and the next reader reloads the list from PostgreSQL.
    # Spread over several nodes, a lost node would silently forget revocations while the
    # sentinel elsewhere still claimed the list complete.
    # pub/sub channel: something revoked or changed (per database: invalidation_channel)
    invalidations = f"{PREFIX}invalidations"
    # "Complete up to mark N" (the PostgreSQL high-water mark of the last revocation it holds).
    revocations_loaded = f"{PREFIX}{{rev}}:complete"
    revocations_loading = f"{PREFIX}{{rev}}:loading"
    # The revocation feed of GET /revocations/stream: its sequence counter and a capped log of
    # recent events for Last-Event-ID replay, one hash tag so its script runs in one slot.
    revocation_seq = f"{PREFIX}{{revfeed}}:seq"
    revocation_log = f"{PREFIX}{{revfeed}}:log"

    @staticmethod
    def revoked_jti(jti: str) -> str:
        return f"{PREFIX}{{rev}}:jti:{jti}"

    @staticmethod
    def revoked_family(family_id: str) -> str:
        return f"{PREFIX}{{rev}}:fam:{family_id}"

    @staticmethod
    def user(user_id: str) -> str:
        return f"{PREFIX}user:{user_id}"

    @staticmethod
    def profile(user_id: str, version: int) -> str:
        """GET /users/me's answer for one version of the user (identity/cache.py)."""
        return f"{PREFIX}profile:{user_id}:{version}"

    @staticmethod
    def client(client_id: str) -> str:
        return f"{PREFIX}client:{client_id}"

    @staticmethod
    def mfa_token(jti: str) -> str:
        """A live mfa_token's count of wrong codes; gone once spent or void."""
        return f"{PREFIX}mfa:tok:{jti}"

    @staticmethod
    def totp_step(user_id: str) -> str:
        """The last TOTP time step accepted for the user (compare-and-set by a script)."""
        return f"{PREFIX}mfa:{{{user_id}}}:totp-step"

    @staticmethod
    def totp_pending(user_id: str) -> str:
        """A TOTP secret being set up (encrypted), until its first code confirms it."""
        return f"{PREFIX}mfa:{{{user_id}}}:totp-pending"

    @staticmethod
    def email_code(user_id: str, purpose: str) -> str:
        """The digest, expiry and wrong tries of the user's e-mailed code for `purpose`."""
        return f"{PREFIX}mfa:{{{user_id}}}:email:{purpose}"

    @staticmethod
    def webauthn_challenge(digest: str) -> str:
        """A WebAuthn challenge's purpose and owner, named by the SHA-256 of the challenge;
        taken (GETDEL) by the one verification it allows."""
        return f"{PREFIX}wa:{{{digest}}}:challenge"

    @staticmethod
    def action_code_tries(token_id: str) -> str:
        """Wrong short codes typed for one reset/verification token (its link stays single-use)."""
        return f"{PREFIX}recovery:code-tries:{token_id}"

    @staticmethod
    def login_failures(username: str) -> str:
        return f"{PREFIX}bf:{{{username}}}:fails"

    @staticmethod
    def device_failures(jti: str) -> str:
        """Failures counted against one device token (OWASP device cookies): a name no typed
        username can produce, so nobody can fail against someone's device by typing it."""
        return f"{PREFIX}bfd:{{{jti}}}:fails"

    @staticmethod
    def account_failures(user_id: str) -> str:
        """Wrong current passwords of one signed-in account (password change, re-authentication),
        whatever device they came from."""
        return f"{PREFIX}bfa:{{{user_id}}}:fails"

    @staticmethod
    def failed_usernames(ip: str) -> str:
        return f"{PREFIX}stuff:{{{ip}}}:users"

    @staticmethod
    def stuffing_flag(ip: str) -> str:
        return f"{PREFIX}stuff:{{{ip}}}:flag"

    @staticmethod
    def rate(bucket: str, subject: str) -> str:
        return f"{PREFIX}rl:{{{bucket}:{subject}}}"

    @staticmethod
    def authorization_code(digest: str) -> str:
        """An authorization code (RFC 6749 §4.1.2), named by its SHA-256: what it grants, and
        once spent, what it issued (for revoking it on a replay)."""
        return f"{PREFIX}oidc:code:{digest}"

    @staticmethod
    def authorization_request(request_id: str) -> str:
        """A validated /authorize request waiting for the login, MFA or consent page."""
        return f"{PREFIX}oidc:req:{request_id}"

    # Browser sessions share one hash tag: rotation and "log out everywhere" touch a session, its
    # successor and the user's index in one transaction, which Redis Cluster allows in one slot.
    @staticmethod
    def session(digest: str) -> str:
        """A browser session, named by the SHA-256 of its id, never by the id itself."""
        return f"{PREFIX}{{sess}}:id:{digest}"

    @staticmethod
    def user_sessions(user_id: str) -> str:
        """The set of session-key digests of one user."""
        return f"{PREFIX}{{sess}}:user:{user_id}"
