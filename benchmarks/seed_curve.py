"""Bulk seeding for the cost curve (benchmarks/curve.py), straight into PostgreSQL and Redis.

Users, refresh families and revocations are made in the database with `INSERT ... SELECT
generate_series` (one precomputed bcrypt hash for every user: hashing a million passwords at
cost 12 would take days). Revocations are mirrored into Redis the way the service writes them
(`Keys.revoked_jti`, value the reason, a TTL until the token would expire), a chunk a script call.
Nothing here goes through the service: it is the state a long-running deployment would have.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import redis

from authsvc.kv import Keys

CHUNK = 10_000  # Redis commands a pipeline

# Every NOT NULL column without a server default (migrations 0001-0007); the later columns
# (totp_last_step, password_reset_required) keep their defaults.
_USERS = """
INSERT INTO users (id, email, display_name, password_hash, roles, is_active, email_verified,
                   totp_enabled, email_mfa_enabled, version, created_at, updated_at,
                   password_changed_at)
SELECT gen_random_uuid(), 'curve-' || i || '@example.com', NULL, $1, '[]'::json, true, true,
       false, false, 1, now(), now(), now()
FROM generate_series($2::bigint, $3::bigint) AS i
"""

_REVOCATIONS = """
INSERT INTO revocations (jti, expires_at, reason, created_at)
SELECT 'curve-rev-' || i, now() + make_interval(secs => $3), 'bench', now()
FROM generate_series($1::bigint, $2::bigint) AS i
"""

# Live families of random existing users, one unspent refresh token each (a rotation chain's
# head), as 10k logged-in sessions would leave them.
_FAMILIES = """
WITH picked AS (
  SELECT id AS user_id, gen_random_uuid() AS family_id
  FROM users WHERE email LIKE 'curve-%' ORDER BY random() LIMIT $1
), families AS (
  INSERT INTO refresh_families (id, user_id, client_id, scope, amr, auth_time, user_agent,
                                created_at, expires_at)
  SELECT family_id, user_id, NULL, NULL, '["pwd"]'::json, extract(epoch FROM now())::int,
         $2, now(), now() + interval '30 days'
  FROM picked
  RETURNING id
)
INSERT INTO refresh_tokens (jti, family_id, issued_at, expires_at)
SELECT md5(id::text || random()::text), id, now(), now() + interval '30 days' FROM families
"""


def password_hash(password: str, rounds: int) -> str:
    """The hash the service would store (passlib bcrypt_sha256, as security/passwords.py)."""
    from passlib.context import CryptContext

    return str(CryptContext(schemes=["bcrypt_sha256"],
                            bcrypt_sha256__rounds=rounds).hash(password))


async def _execute(dsn: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql, args in statements:
            await conn.execute(sql, *args)
    finally:
        await conn.close()


async def count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 - ours
    finally:
        await conn.close()


async def add_users(dsn: str, first: int, last: int, hashed: str) -> float:
    """Users curve-<first>..curve-<last>@example.com, all with the password behind `hashed`."""
    start = time.monotonic()
    await _execute(dsn, (_USERS, (hashed, first, last)), ("ANALYZE users", ()))
    return time.monotonic() - start


async def add_revocations(dsn: str, first: int, last: int, ttl_s: int) -> float:
    start = time.monotonic()
    await _execute(dsn, (_REVOCATIONS, (first, last, float(ttl_s))), ("ANALYZE revocations", ()))
    return time.monotonic() - start


async def add_families(dsn: str, n: int, user_agent: str) -> float:
    start = time.monotonic()
    await _execute(dsn, (_FAMILIES, (n, user_agent)),
                   ("ANALYZE refresh_families", ()), ("ANALYZE refresh_tokens", ()))
    return time.monotonic() - start


# What RevocationList.write stores per entry, a chunk a call: ARGV[1] the key prefix, ARGV[2]
# the value, ARGV[3] the TTL, ARGV[4] the ids (space-separated). Pipelining one SET a row costs
# redis-py a Python pack and parse per command (about 10 s per 100,000 on a loaded box).
_MIRROR = """
local n = 0
for id in string.gmatch(ARGV[4], '%S+') do
  redis.call('SET', ARGV[1] .. id, ARGV[2], 'EX', ARGV[3])
  n = n + 1
end
return n
"""


def mirror_revocations(redis_url: str, first: int, last: int, ttl_s: int) -> float:
    """The Redis side of `add_revocations` (what `RevocationList.write` stores per entry)."""
    start = time.monotonic()
    client = redis.Redis.from_url(redis_url)
    try:
        mirror = client.register_script(_MIRROR)
        prefix = Keys.revoked_jti("")
        for low in range(first, last + 1, CHUNK):
            ids = " ".join(f"curve-rev-{i}" for i in range(low, min(low + CHUNK, last + 1)))
            mirror(keys=[Keys.revocations_loaded], args=[prefix, "bench", ttl_s + 60, ids])
    finally:
        client.close()
    return time.monotonic() - start
