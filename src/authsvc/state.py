"""Everything built once at start-up and shared by every request (Polar's typed `State`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.audit.service import AuditLog
from authsvc.background import Background
from authsvc.clients.service import ClientService
from authsvc.config import Settings
from authsvc.courier import Courier, MessageFactory
from authsvc.identity.cache import UserCache, UserDirectory
from authsvc.keys.ring import KeyRing
from authsvc.mfa.runtime import MfaRuntime
from authsvc.oidc.codes import AuthorizationStore
from authsvc.ops.meter import Meter
from authsvc.passkeys.runtime import PasskeyRuntime
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.protection.devices import DeviceTokens
from authsvc.protection.patterns import StuffingDetector
from authsvc.protection.ratelimit import LocalShare, Rate, RateLimiter
from authsvc.security.binding import ClientBinding
from authsvc.security.breached import BreachedPasswords
from authsvc.security.csrf import PreSessionCsrf
from authsvc.security.jwt import TokenCodec
from authsvc.security.passwords import HashingService
from authsvc.security.policy import PasswordValidator
from authsvc.sessions.store import SessionStore
from authsvc.tokens.feed import RevocationFeed
from authsvc.tokens.hub import RevocationHub
from authsvc.tokens.introspection import Introspector
from authsvc.tokens.revocations import RevocationList
from authsvc.tokens.service import TokenService


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
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
    mail_counts: Counter[str] = field(default_factory=Counter)  # "sent", "failed"
    meter: Meter = field(default_factory=Meter)
    breached: BreachedPasswords = field(default_factory=BreachedPasswords)  # off by default
    tasks: Background = field(default_factory=Background)  # work no answer waits for
    keys: KeyRing = None  # type: ignore[assignment]  # signing keys (/jwks)
    authorizations: AuthorizationStore = None  # type: ignore[assignment]  # codes, requests
    passkeys: PasskeyRuntime | None = None  # None: passkeys off (see passkeys/relying_party.py)
    extras: dict[str, Any] = field(default_factory=dict)
    revocation_feed: RevocationFeed | None = None  # numbered revocation events (publish)
    revocation_hub: RevocationHub | None = None  # this process's GET /revocations/stream
