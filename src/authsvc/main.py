"""The application: `create_app(settings)`; everything is built once, in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from authsvc import __version__
from authsvc.composition import Components, build, close
from authsvc.config import Settings, load_settings
from authsvc.courier.sender import LOG_TRANSPORT_WARNING
from authsvc.errors import install_handlers
from authsvc.logging_setup import configure_logging
from authsvc.middleware import HeadAsGet, RequestContext
from authsvc.openapi import operation_id
from authsvc.ops.meter import Meter
from authsvc.ops.metrics import PrometheusMeter, mark_worker_dead
from authsvc.ops.observe import RequestObserver
from authsvc.responses import JSONResponse
from authsvc.routing import join as join_shared_paths
from authsvc.tokens.hub import stop_streams_on_signals

log = logging.getLogger("authsvc")
POOL_SAMPLE_SECONDS = 5.0


def start_pool_sampler(state: Components) -> asyncio.Task[None] | None:
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


def settle_heap() -> None:
    """What start-up built (modules, the app and its routes, the state) lives as long as the
    worker: out of the cyclic collector's sight (`gc.freeze`), a full collection under load walks
    only what requests allocate, not the whole heap — those walks were the long tail of
    /introspect's latency (p99 ~20x p50)."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings)
    meter: Meter = PrometheusMeter() if settings.metrics_enabled else Meter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build(settings, meter)
        app.state.authsvc = state
        app.state.grants = state.grants  # what /token accepts, registered once
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
        restore_signals = stop_streams_on_signals(state.revocation_hub)
        settle_heap()
        try:
            yield
        finally:
            restore_signals()
            if sampler is not None:
                sampler.cancel()
            await close(state)
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
