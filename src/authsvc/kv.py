"""The key/value store: Redis through a pool, or an in-process stand-in for development.

Every key authsvc writes is named here, so the layout can be read in one place. Keys that one
Lua script or transaction touches together share a `{hash tag}`, so every atomic rule still holds
on Redis Cluster.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from authsvc.config import Settings

log = logging.getLogger("authsvc.kv")

PREFIX = "authsvc:"


def make_redis(settings: Settings) -> Redis:
    if settings.redis_url is None:
        import fakeredis

        log.warning(
            "AUTHSVC_REDIS_URL is unset: using the in-process Redis stand-in "
            "(development only, one process, nothing survives a restart)"
        )
        return fakeredis.FakeAsyncRedis(decode_responses=False)
    # One immediate retry on a broken connection: after a Redis restart every pooled connection
    # is dead, and without it each would fail one request (a 503) before being replaced. Time-outs
    # are not retried (a slow Redis must not make requests slower still).
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    return Redis.from_url(
        settings.redis_url,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        max_connections=settings.redis_pool_size,
        socket_timeout=settings.redis_timeout,
        socket_connect_timeout=settings.redis_timeout,
        health_check_interval=30,
        retry_on_timeout=False,
        decode_responses=False,
    )


class Keys:
    """Names of every key; one static method a kind of key."""

    revocations_loaded = f"{PREFIX}rev:loaded"
    revocations_loading = f"{PREFIX}rev:loading"

    @staticmethod
    def revoked_jti(jti: str) -> str:
        return f"{PREFIX}rev:jti:{jti}"

    @staticmethod
    def revoked_family(family_id: str) -> str:
        return f"{PREFIX}rev:fam:{family_id}"

    @staticmethod
    def user(user_id: str) -> str:
        return f"{PREFIX}user:{user_id}"

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
    def login_failures(username: str) -> str:
        return f"{PREFIX}bf:{{{username}}}:fails"

    @staticmethod
    def failed_usernames(ip: str) -> str:
        return f"{PREFIX}stuff:{{{ip}}}:users"

    @staticmethod
    def stuffing_flag(ip: str) -> str:
        return f"{PREFIX}stuff:{{{ip}}}:flag"

    @staticmethod
    def rate(bucket: str, subject: str) -> str:
        return f"{PREFIX}rl:{{{bucket}:{subject}}}"

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
