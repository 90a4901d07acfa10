"""The application: `create_app(settings)`; everything is built once, in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from authsvc import __version__
from authsvc.audit.service import AuditLog
from authsvc.clients.service import ClientService
from authsvc.config import ConfigError, Settings, load_settings
from authsvc.courier import Courier, MessageFactory, make_sender
from authsvc.courier.sender import LOG_TRANSPORT_WARNING
from authsvc.db import make_engine, make_sessionmaker
from authsvc.errors import install_handlers, is_store_outage
from authsvc.identity.cache import UserCache, UserDirectory
from authsvc.keys.ring import PURPOSE, KeyRing
from authsvc.kv import make_redis
from authsvc.logging_setup import configure_logging
from authsvc.mfa.runtime import MfaRuntime
from authsvc.middleware import HeadAsGet, RequestContext
from authsvc.oidc.codes import AuthorizationStore
from authsvc.openapi import operation_id
from authsvc.ops.meter import Meter
from authsvc.ops.metrics import PrometheusMeter, mark_worker_dead
from authsvc.ops.observe import RequestObserver
from authsvc.passkeys.relying_party import relying_party
from authsvc.passkeys.runtime import PasskeyRuntime
from authsvc.protection.bruteforce import BruteForceProtector
from authsvc.protection.devices import DeviceTokens
from authsvc.protection.patterns import StuffingDetector
from authsvc.protection.ratelimit import LocalShare, Rate, RateLimiter
from authsvc.responses import JSONResponse
from authsvc.routing import join as join_shared_paths
from authsvc.security.binding import ClientBinding
from authsvc.security.breached import BreachedPasswords, BreachFile, RangeApi
from authsvc.security.crypto import Encryptor, derive_key
from authsvc.security.csrf import PreSessionCsrf
from authsvc.security.jwt import TokenCodec
from authsvc.security.passwords import HashingService
from authsvc.security.policy import Blocklist, PasswordValidator, PolicyRules
from authsvc.sessions.store import SessionStore
from authsvc.state import AppState
from authsvc.tokens.feed import RevocationFeed
from authsvc.tokens.grants import default_grants
from authsvc.tokens.hub import RevocationHub, stop_streams_on_signals
from authsvc.tokens.introspection import Introspector
from authsvc.tokens.nearcache import NearCache
from authsvc.tokens.repository import TokenRepository
from authsvc.tokens.revocations import RevocationList
from authsvc.tokens.service import TokenService

log = logging.getLogger("authsvc")
POOL_SAMPLE_SECONDS = 5.0

RATE_SETTINGS = (
    "rate_limit_token", "rate_limit_register", "rate_limit_mfa_challenge", "rate_limit_forgot",
    "rate_limit_forgot_account", "rate_limit_login_page", "rate_limit_introspect",
    "rate_limit_revoke",
)


async def build_state(settings: Settings, meter: Meter | None = None) -> AppState:
    meter = meter or Meter()
    settings.prepare_local_keys()
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    redis = make_redis(settings)
    if settings.embedded_database:
        from authsvc.migrate import upgrade_embedded

        await upgrade_embedded(engine)
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
    near.listeners.append(revocations.seen_message)
    clients = ClientService(sessions, redis, known_scopes=tuple(settings.scopes),
                            default_scopes=tuple(settings.default_scopes), notify=near.changed,
                            local_trusted=lambda: near.live)
    near.listeners += [clients.invalidated, keyring.invalidated]
    audit = AuditLog(sessions, defer=settings.embedded_database,
                     subject_key=derive_key(settings.data_key, "audit-subjects"))
    audit.listeners.append(meter.event)

    async def user_changed(what: str) -> None:  # roles, MFA, enabled: cached answers are stale
        await near.changed(what)
        await feed.publish("user_changed", sub=what.partition(":")[2])

    user_cache = UserCache(redis, settings.user_cache_ttl, meter, notify=user_changed)
    tokens = TokenService(settings, codec, binding, revocations, audit, meter)
    mail_counts: Counter[str] = Counter()

    def mail_failed() -> None:
        mail_counts.update(["failed"])
        meter.mail_failed()

    def mail_sent() -> None:
        mail_counts.update(["sent"])
        meter.mail_sent()

    # A failed mail is logged by the courier and counted here.
    courier = Courier.from_settings(settings, sessions, make_sender(settings),
                                    on_sent=mail_sent, on_failure=mail_failed)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        redis=redis,
        hasher=HashingService(settings.bcrypt_rounds, threads=settings.hash_threads),
        validator=PasswordValidator(PolicyRules.from_settings(settings), Blocklist.load()),
        codec=codec,
        binding=binding,
        revocations=revocations,
        user_cache=user_cache,
        users=UserDirectory(sessions, user_cache),
        clients=clients,
        audit=audit,
        tokens=tokens,
        introspector=None,  # type: ignore[arg-type]
        protector=BruteForceProtector(redis, settings),
        devices=DeviceTokens.from_settings(settings),
        stuffing=StuffingDetector(redis, threshold=settings.stuffing_usernames_threshold,
                                  window=settings.stuffing_window),
        limiter=RateLimiter(redis),
        introspect_share=LocalShare(),
        rates={name: Rate.parse(getattr(settings, name)) for name in RATE_SETTINGS},
        session_store=SessionStore(
            redis,
            Encryptor.from_settings(settings, "session"),
            settings.session_idle_timeout,
            settings.session_absolute_timeout,
        ),
        pre_session_csrf=PreSessionCsrf(settings.data_key),
        courier=courier,
        messages=MessageFactory(settings),
        mfa=MfaRuntime.build(redis, settings),
        mail_counts=mail_counts,
        meter=meter,
        breached=await load_breached_passwords(settings),
        keys=keyring,
        authorizations=AuthorizationStore(redis, settings),
        passkeys=PasskeyRuntime.build(redis, settings),
        revocation_feed=feed,
        revocation_hub=RevocationHub(redis, max_listeners=settings.revocation_stream_max),
    )
    async def refresh_is_live(claims: dict[str, Any]) -> bool:
        async with sessions() as session:
            return await TokenRepository(session).refresh_is_live(claims["jti"])

    state.introspector = Introspector(
        codec, binding, redis, revocations,
        load_user=state.users.view, check_refresh=refresh_is_live, meter=meter, near=near,
        load_client=clients.lookup,
    )
    state.introspector.limiter = state.limiter
    return state


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


def start_pool_sampler(state: AppState) -> asyncio.Task[None] | None:
    """In multiprocess mode a scrape reaches one worker, so each worker samples its own pools
    every few seconds into `livesum` gauges; single-process scrapes sample on the spot."""
    meter = state.meter
    if not isinstance(meter, PrometheusMeter) or not meter.multiprocess:
        return None

    async def sample() -> None:
        while True:
            meter.sample_pools(state.engine, state.redis)
            await asyncio.sleep(POOL_SAMPLE_SECONDS)

    return asyncio.get_running_loop().create_task(sample())


async def close_state(state: AppState) -> None:
    await state.keys.stop()
    await state.revocations.stop()
    await state.introspector.near.stop()
    await state.tasks.drain(state.settings.smtp_timeout)
    if state.revocation_hub is not None:
        await state.revocation_hub.stop()
    await state.audit.drain()
    await state.courier.stop(state.settings.smtp_timeout)
    await state.breached.aclose()
    state.hasher.close()
    await state.redis.aclose()
    await state.engine.dispose()


@dataclass(frozen=True, slots=True)
class HotRoute:
    path_format: str


class App(FastAPI):
    """FastAPI, except that POST /introspect (the hot path of every service behind authsvc) is
    answered by a bare ASGI endpoint inside our own RequestContext middleware, before
    FastAPI's middleware stack and router. py-spy showed that stack (error and telemetry
    middleware, included-router dispatch) at about a third of a worker's time."""

    hot_paths: dict[tuple[str, str], Any] = {}
    hot_trusted_proxies: tuple[str, ...] = ()  # for the hot paths' security headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            hot = self.hot_paths.get((scope["method"], scope["path"]))
            if hot is not None:
                scope["app"] = self
                scope["route"] = HotRoute(scope["path"])  # the metrics label, as for routes
                await hot(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def database_budget(settings: Settings) -> Any:
    """The database time each endpoint can afford: a few seconds for /token (a rotation's
    commit deadline too), AUTHSVC_DB_REQUEST_TIMEOUT elsewhere; none for the static files."""
    token, other = settings.db_token_timeout, settings.db_request_timeout

    def budget(path: str) -> float | None:
        if path == "/token":
            return token
        return None if path.startswith("/static/") or path.startswith("/health/") else other

    return budget


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings)
    meter: Meter = PrometheusMeter() if settings.metrics_enabled else Meter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, meter)
        app.state.authsvc = state
        state.introspector.near.start()  # the server's, not the CLI's: only it introspects
        with contextlib.suppress(Exception):  # the high-water mark before the first answer
            async with asyncio.timeout(settings.db_request_timeout):
                await state.revocations.refresh_known(lagged=False)
        state.revocations.start()
        state.courier.start()  # the outbox worker: the server's too (the CLI only queues)
        if settings.mail_transport == "log":
            log.error(LOG_TRANSPORT_WARNING)
        state.keys.start()
        if settings.embedded_database or settings.embedded_redis:
            log.warning(
                "authsvc %s running the %s profile on embedded defaults (%s%s): "
                "not for production",
                __version__, settings.env,
                "SQLite" if settings.embedded_database else "PostgreSQL",
                ", in-process Redis stand-in" if settings.embedded_redis else "",
            )
        if state.passkeys is None:
            from authsvc.passkeys.relying_party import describe

            log.warning("authsvc: %s", describe(settings))
        sampler = start_pool_sampler(state)
        assert state.revocation_hub is not None
        restore_signals = stop_streams_on_signals(state.revocation_hub)
        try:
            yield
        finally:
            restore_signals()
            if sampler is not None:
                sampler.cancel()
            await close_state(state)
            mark_worker_dead()

    app = App(
        title="authsvc",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url=None,  # ops/docs.py: Swagger UI from our own static files
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.grants = default_grants()  # what /token accepts, registered once
    if relying_party(settings) is not None:
        from authsvc.tokens.grants.webauthn import WebAuthnGrant

        app.state.grants.register(WebAuthnGrant())
    from authsvc.web.route import browser_error

    install_handlers(app, pages=browser_error)
    from authsvc.openapi import install as install_openapi

    install_openapi(app)
    from authsvc.admin.router import router as admin_router
    from authsvc.audit.router import router as audit_router
    from authsvc.identity.router import router as identity_router
    from authsvc.mfa.router import router as mfa_router
    from authsvc.oidc.pages import router as oidc_pages
    from authsvc.oidc.router import router as oidc_router
    from authsvc.ops.docs import router as docs_router
    from authsvc.ops.health import router as health_router
    from authsvc.ops.metrics_router import router as metrics_router
    from authsvc.passkeys.router import router as passkeys_router
    from authsvc.recovery.router import router as recovery_router
    from authsvc.tokens.router import router as token_router
    from authsvc.tokens.stream import router as stream_router
    from authsvc.web.headers import SecurityHeaders
    from authsvc.web.pages import logout_router as page_logout
    from authsvc.web.router import router as web_router
    from authsvc.web.templating import STATIC_DIR

    # POST /logout, both faces: one route, the API's, which tells a bearer request from a
    # browser's and hands the browser's to the page.
    join_shared_paths(token_router, page_logout)
    app.include_router(web_router)
    app.include_router(oidc_pages)
    app.include_router(oidc_router)
    app.include_router(token_router)
    app.include_router(stream_router)
    app.include_router(identity_router)
    app.include_router(mfa_router)
    app.include_router(passkeys_router)
    app.include_router(recovery_router)
    app.include_router(health_router)
    app.include_router(docs_router)
    app.include_router(metrics_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    from authsvc.jsonbody import JsonBodyGuard

    app.add_middleware(JsonBodyGuard)  # innermost: its 422s get the security headers too
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders, trusted_proxies=tuple(settings.trusted_proxies))
    observer = RequestObserver(meter)
    budget = database_budget(settings)
    app.add_middleware(RequestContext, max_body=settings.max_body_bytes, observer=observer,
                       budget=budget,
                       trusted_proxies=tuple(settings.trusted_proxies))
    from authsvc.tokens.router import introspect_asgi

    app.hot_trusted_proxies = tuple(settings.trusted_proxies)
    app.hot_paths = {
        ("POST", "/introspect"): RequestContext(
            # No budget on the hot path: an access token's check runs no SQL at all.
            introspect_asgi, max_body=settings.max_body_bytes, observer=observer,
            trusted_proxies=app.hot_trusted_proxies,
        ),
    }
    return app
