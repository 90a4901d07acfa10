"""The composition root: the one place that builds every long-lived component, from the
resources (state.Resources), with constructors only. What it returns, `Components`, is read by
the faces alone (routers, web/, the CLI, main); services never import this module: each
receives the collaborators it uses (deps.py builds the request-scoped ones)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.audit.service import AuditLog
from authsvc.background import Background
from authsvc.clients.service import ClientService
from authsvc.config import ConfigError, Settings
from authsvc.courier import Courier, MessageFactory, make_sender
from authsvc.db import make_engine, make_sessionmaker
from authsvc.errors import is_store_outage
from authsvc.identity.cache import UserCache, UserDirectory
from authsvc.keys.ring import PURPOSE, KeyRing
from authsvc.kv import make_redis
from authsvc.mfa.repository import MfaRepository
from authsvc.mfa.runtime import MfaRuntime
from authsvc.oidc.codes import AuthorizationStore
from authsvc.ops.meter import Meter
from authsvc.passkeys.repository import PasskeyRepository
from authsvc.passkeys.runtime import PasskeyRuntime
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.protection.devices import DeviceTokens
from authsvc.protection.patterns import StuffingDetector
from authsvc.protection.ratelimit import LocalShare, Rate, RateLimiter
from authsvc.security.binding import ClientBinding
from authsvc.security.breached import BreachedPasswords, BreachFile, RangeApi
from authsvc.security.crypto import Encryptor, derive_key
from authsvc.security.csrf import PreSessionCsrf
from authsvc.security.jwt import TokenCodec
from authsvc.security.passwords import HashingService
from authsvc.security.policy import Blocklist, PasswordValidator, PolicyRules
from authsvc.sessions.store import SessionStore
from authsvc.state import Resources
from authsvc.tokens.feed import RevocationFeed
from authsvc.tokens.grants import GrantRegistry, default_grants
from authsvc.tokens.hub import RevocationHub
from authsvc.tokens.introspection import Introspector
from authsvc.tokens.nearcache import NearCache
from authsvc.tokens.repository import TokenRepository
from authsvc.tokens.revocations import RevocationList
from authsvc.tokens.service import TokenService
from authsvc.tokens.signout import SessionEnder

log = logging.getLogger("authsvc")

RATE_SETTINGS = (
    "rate_limit_token", "rate_limit_register", "rate_limit_mfa_challenge", "rate_limit_forgot",
    "rate_limit_forgot_account", "rate_limit_login_page", "rate_limit_introspect",
    "rate_limit_revoke",
)


@dataclass
class Components:
    """Every long-lived component, built once by `build_components`. Mutable only so that tests
    can swap a component (a slower hasher, a clock); the application never reassigns one."""

    resources: Resources
    hasher: HashingService
    validator: PasswordValidator
    codec: TokenCodec
    binding: ClientBinding
    revocations: RevocationList
    user_cache: UserCache
    users: UserDirectory
    clients: ClientService
    audit: AuditLog
    tokens: TokenService
    introspector: Introspector
    protector: BruteForceProtector
    devices: DeviceTokens  # OWASP device cookies: who a username's lock does not stop
    stuffing: StuffingDetector
    limiter: RateLimiter
    introspect_share: LocalShare  # the per-client /introspect limit, counted in batches
    rates: dict[str, Rate]
    session_store: SessionStore  # browser sessions of the hosted pages
    pre_session_csrf: PreSessionCsrf  # login and register forms, before a session exists
    courier: Courier
    messages: MessageFactory
    mfa: MfaRuntime
    breached: BreachedPasswords
    keys: KeyRing  # signing keys (/jwks)
    authorizations: AuthorizationStore  # authorization codes and pending requests
    passkeys: PasskeyRuntime | None  # None: passkeys off (see passkeys/relying_party.py)
    revocation_feed: RevocationFeed  # numbered revocation events (publish)
    revocation_hub: RevocationHub  # this process's GET /revocations/stream
    ender: SessionEnder  # a user's other refresh families and browser sessions
    grants: GrantRegistry  # what /token accepts
    mail_counts: Counter[str] = field(default_factory=Counter)  # "sent", "failed"

    # The resources, read through: one copy of each.
    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def engine(self) -> AsyncEngine:
        return self.resources.engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.resources.sessions

    @property
    def redis(self) -> Redis:
        return self.resources.redis

    @property
    def meter(self) -> Meter:
        return self.resources.meter

    @property
    def tasks(self) -> Background:
        return self.resources.tasks


async def open_resources(settings: Settings, meter: Meter | None = None) -> Resources:
    """The engine, its sessionmaker and Redis (the embedded SQLite file migrated first)."""
    settings.prepare_local_keys()
    engine = make_engine(settings)
    if settings.embedded_database:
        from authsvc.migrate import upgrade_embedded

        await upgrade_embedded(engine)
    return Resources(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                     redis=make_redis(settings), meter=meter or Meter())


async def build_components(resources: Resources) -> Components:
    """Every long-lived component, each given what it uses through its constructor."""
    settings, sessions, redis, meter = (resources.settings, resources.sessions, resources.redis,
                                        resources.meter)
    keyring = await load_keyring(settings, sessions)
    codec = TokenCodec(
        settings.jwt_key,
        issuer=settings.issuer,
        audience=settings.token_audience,
        leeway=settings.token_leeway,
        previous_keys=tuple(s.get_secret_value().encode() for s in settings.jwt_previous_secrets),
        access_alg=settings.access_token_alg,
        keys=keyring,
    )
    binding = ClientBinding(settings.token_binding, settings.jwt_key)
    near = NearCache(redis, ttl=settings.introspection_cache_ttl)
    feed = RevocationFeed(redis, window=settings.revocation_replay_window)
    revocations = RevocationList(redis, sessions, notify=near.changed, announce=feed.publish,
                                 poll=settings.revocation_mark_poll)
    clients = ClientService(sessions, redis, known_scopes=tuple(settings.scopes),
                            default_scopes=tuple(settings.default_scopes), notify=near.changed,
                            local_trusted=lambda: near.live)
    # Every invalidation the near cache hears also drops these per-process memories (the near
    # cache is built first: the others announce their changes through it).
    near.listeners += [revocations.seen_message, clients.invalidated, keyring.invalidated]
    audit = AuditLog(sessions, defer=settings.embedded_database,
                     subject_key=derive_key(settings.data_key, "audit-subjects"),
                     listeners=(meter.event,))
    user_cache = UserCache(redis, settings.user_cache_ttl, meter,
                           notify=partial(announce_user_change, near, feed))
    users = UserDirectory(sessions, user_cache, factor_counts)
    limiter = RateLimiter(redis)
    mail_counts: Counter[str] = Counter()
    tokens = TokenService(settings, codec, binding, revocations, audit, meter)
    session_store = SessionStore(
        redis,
        Encryptor.from_settings(settings, "session"),
        settings.session_idle_timeout,
        settings.session_absolute_timeout,
    )
    authorizations = AuthorizationStore(redis, settings)
    passkeys = PasskeyRuntime.build(redis, settings)
    # A failed mail is logged by the courier and counted here.
    courier = Courier.from_settings(settings, sessions, make_sender(settings),
                                    on_sent=partial(count_mail, mail_counts, meter, "sent"),
                                    on_failure=partial(count_mail, mail_counts, meter, "failed"))
    return Components(
        resources=resources,
        hasher=HashingService(settings.bcrypt_rounds, threads=settings.hash_threads),
        validator=PasswordValidator(PolicyRules.from_settings(settings), Blocklist.load()),
        codec=codec,
        binding=binding,
        revocations=revocations,
        user_cache=user_cache,
        users=users,
        clients=clients,
        audit=audit,
        tokens=tokens,
        introspector=Introspector(
            codec, binding, redis, revocations, load_user=users.view,
            check_refresh=partial(refresh_is_live, sessions), meter=meter, near=near,
            load_client=clients.lookup, limiter=limiter,
        ),
        protector=BruteForceProtector(redis, settings),
        devices=DeviceTokens.from_settings(settings),
        stuffing=StuffingDetector(redis, threshold=settings.stuffing_usernames_threshold,
                                  window=settings.stuffing_window),
        limiter=limiter,
        introspect_share=LocalShare(),
        rates={name: Rate.parse(getattr(settings, name)) for name in RATE_SETTINGS},
        session_store=session_store,
        pre_session_csrf=PreSessionCsrf(settings.data_key),
        courier=courier,
        messages=MessageFactory(settings),
        mfa=MfaRuntime.build(redis, settings),
        breached=await load_breached_passwords(settings),
        keys=keyring,
        authorizations=authorizations,
        passkeys=passkeys,
        revocation_feed=feed,
        revocation_hub=RevocationHub(redis, max_listeners=settings.revocation_stream_max),
        ender=SessionEnder(tokens, session_store),
        grants=default_grants(settings, sessions, clients=clients, tokens=tokens, audit=audit,
                              authorizations=authorizations, codec=codec,
                              passkeys=passkeys is not None),
        mail_counts=mail_counts,
    )


async def build(settings: Settings, meter: Meter | None = None) -> Components:
    """The resources, then the components on them: what the server and the CLI run on."""
    return await build_components(await open_resources(settings, meter))


async def close(components: Components) -> None:
    """Stop the components' background work, then close the resources."""
    settings = components.settings
    await components.keys.stop()
    await components.revocations.stop()
    await components.introspector.near.stop()
    await components.tasks.drain(settings.smtp_timeout)
    await components.revocation_hub.stop()
    await components.audit.drain()
    await components.courier.stop(settings.smtp_timeout)
    await components.breached.aclose()
    components.hasher.close()
    await components.redis.aclose()
    await components.engine.dispose()


async def load_keyring(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> KeyRing:
    keyring = KeyRing(
        sessions, Encryptor.from_settings(settings, PURPOSE), prepublish=settings.key_prepublish,
        token_lifetime=max(settings.id_token_ttl, settings.access_token_ttl),
        leeway=settings.token_leeway, refresh_interval=settings.key_refresh_interval,
    )
    try:
        await keyring.ensure()
    except Exception as exc:
        if not is_store_outage(exc):
            raise
        # Start anyway and answer 503 where a signing key is needed; the key ring's refresh
        # task makes and loads them once the database answers.
        log.warning("signing keys not loaded (database unavailable): retrying in the background")
    return keyring


async def announce_user_change(near: NearCache, feed: RevocationFeed, what: str) -> None:
    """Roles, MFA, enabled changed: every cached answer about the user is stale."""
    await near.changed(what)
    await feed.publish("user_changed", sub=what.partition(":")[2])


async def refresh_is_live(sessions: async_sessionmaker[AsyncSession],
                          claims: dict[str, Any]) -> bool:
    """The introspector's check of a refresh token: unspent, and its family live."""
    async with sessions() as session:
        return await TokenRepository(session).refresh_is_live(claims["jti"])


async def factor_counts(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, int]:
    """What GET /users/me shows of the factors: recovery codes left, passkeys registered."""
    return (await MfaRepository(session).recovery_codes_left(user_id),
            await PasskeyRepository(session).count(user_id))


def count_mail(counts: Counter[str], meter: Meter, outcome: str) -> None:
    counts.update([outcome])
    if outcome == "sent":
        meter.mail_sent()
    else:
        meter.mail_failed()


async def load_breached_passwords(settings: Settings) -> BreachedPasswords:
    """The range API (AUTHSVC_BREACHED_PASSWORDS=hibp) and the operator's file, if any."""
    api = None
    if settings.breached_passwords == "hibp":
        api = RangeApi(settings.breached_passwords_url, timeout=settings.breached_passwords_timeout)
    file = None
    if settings.breached_passwords_file is not None:
        path = settings.breached_passwords_file
        try:
            file = await asyncio.to_thread(BreachFile.load, path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"AUTHSVC_BREACHED_PASSWORDS_FILE: {exc}") from None
        log.info("breached passwords: %d digests from %s", len(file), path)
    return BreachedPasswords(api=api, file=file,
                             fail_closed=settings.breached_passwords_fail == "closed")
