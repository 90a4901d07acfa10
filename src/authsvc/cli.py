"""The `authsvc` command: serve, migrate, create-admin, create-client, unlock, users, clients,
keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from authsvc import __version__
from authsvc.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        print(f"authsvc: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _with_state(settings: Settings, work: Callable[[Any, Any], Awaitable[int]]) -> int:
    from authsvc.composition import build, close
    from authsvc.db import transaction

    state = await build(settings)
    result = 1
    try:
        # Let the loop finish: `transaction` commits (and runs after-commit hooks) only when
        # resumed; returning from inside would close it and roll the work back.
        async for session in transaction(state.sessions):
            result = await work(state, session)
            if result != 0:
                await session.rollback()
    finally:
        await close(state)
    return result


def _prepare_metrics_dir(workers: int) -> str | None:
    """Several workers share metrics through prometheus-client's multiprocess mode: a fresh
    directory, set before any worker imports prometheus-client. Returns it for cleanup."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    import tempfile

    path = tempfile.mkdtemp(prefix="authsvc-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


# After SIGTERM the server finishes in-flight requests for up to this long (docker-compose.yml's
# stop_grace_period must be longer: scripts/check_compose.py checks it).
DRAIN_SECONDS = 20

EMBEDDED_MISSING = (
    "authsvc: AUTHSVC_REDIS_URL is unset and the in-process Redis stand-in is not installed: "
    "set AUTHSVC_REDIS_URL=redis://HOST:6379/0, or install the stand-in with "
    "pip install 'authsvc[embedded]' (fakeredis and lupa)"
)


def embedded_redis_installed() -> bool:
    """The `embedded` extra (fakeredis with Lua) is importable."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("fakeredis", "lupa"))


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    import shutil

    import uvicorn

    settings = _settings()
    if settings.embedded_redis and not embedded_redis_installed():
        print(EMBEDDED_MISSING, file=sys.stderr)
        return 2
    if settings.embedded_redis and args.workers > 1:
        print("authsvc: the in-process Redis stand-in serves one process; set "
              "AUTHSVC_REDIS_URL to run several workers", file=sys.stderr)
        return 2
    if settings.embedded_database:
        print(f"authsvc: {asyncio.run(_migrate(settings)).summary()}", file=sys.stderr)
    settings.prepare_local_keys()  # the development keys, made once before the workers start
    mail = ("mail only written to the log" if settings.mail_by_log
            else f"mail via {settings.smtp_host}:{settings.smtp_port}")
    print(f"authsvc: {settings.env} profile, {settings.resolved_database_url.split('://')[0]}"
          f", {'in-process Redis stand-in' if settings.embedded_redis else 'Redis'}"
          f", {mail}, listening on http://{args.host}:{args.port}", file=sys.stderr)
    from authsvc.passkeys.relying_party import describe

    print(f"authsvc: {describe(settings)}", file=sys.stderr)
    _print_storage(settings)
    from authsvc.logging_setup import configure_logging

    configure_logging(settings)
    metrics_dir = _prepare_metrics_dir(args.workers)
    # uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal; a requested
    # stop is a clean exit (status 0), as orchestrators expect.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        _run_uvicorn(uvicorn, args, settings)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _run_uvicorn(uvicorn: Any, args: argparse.Namespace, settings: Settings) -> None:
    uvicorn.run(
        "authsvc.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        # httptools with a bound on header size (431) and header time (server.py)
        http="authsvc.server:GuardedHttpToolsProtocol",
        timeout_keep_alive=5,  # an idle keep-alive connection is closed after 5 s
        proxy_headers=False,  # the client address comes from AUTHSVC_TRUSTED_PROXIES only
        server_header=False,
        log_level=settings.log_level.lower(),
        log_config=None,  # the app installs its JSON logging (logging_setup)
        access_log=False,  # one access line per request comes from the app, without queries
        timeout_graceful_shutdown=DRAIN_SECONDS,
    )


async def _migrate(settings: Settings) -> Any:
    from authsvc.db import make_engine
    from authsvc.migrate import upgrade

    engine = make_engine(settings)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()


def _print_storage(settings: Settings) -> None:
    """The database and data directory in use, on stderr (stdout stays the command's answer)."""
    for line in settings.storage_lines():
        print(f"authsvc: {line}", file=sys.stderr)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    _print_storage(settings)
    print(f"authsvc: {asyncio.run(_migrate(settings)).summary()}", file=sys.stderr)
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        print("authsvc: the passwords differ", file=sys.stderr)
        raise SystemExit(2)
    return first


def cmd_create_admin(args: argparse.Namespace) -> int:
    settings = _settings()
    _print_storage(settings)
    password = _read_password(args.password_stdin)

    async def work(state: Any, session: Any) -> int:
        from authsvc.deps import get_identity
        from authsvc.errors import AuthError

        identity = get_identity(state, session)
        try:
            user = await identity.register(args.email, password, None)
        except AuthError as exc:
            print(f"authsvc: {exc.description}", file=sys.stderr)
            return 2
        user.roles = ["admin"]
        user.email_verified = True
        await identity.changed(user)
        await state.audit.record("user_registered", session=session, user_id=user.id, via="cli",
                                role="admin")
        print(json.dumps({"id": str(user.id), "email": user.email, "roles": user.roles}))
        return 0

    return asyncio.run(_with_state(settings, work))


def cmd_create_client(args: argparse.Namespace) -> int:
    settings = _settings()
    _print_storage(settings)

    async def work(state: Any, session: Any) -> int:
        from authsvc.clients.registration import ClientSpec
        from authsvc.errors import AuthError

        spec = ClientSpec(
            name=args.name, type="public" if args.public else "confidential",
            redirect_uris=tuple(args.redirect_uri or ()),
            post_logout_redirect_uris=tuple(args.post_logout_redirect_uri or ()),
            grant_types=tuple(args.grant_type) if args.grant_type else None,
            scopes=tuple(args.scope) if args.scope else None, first_party=args.first_party,
        )
        try:
            issued = await state.clients.create(session, spec)
        except AuthError as exc:
            print(f"authsvc: {exc.description}", file=sys.stderr)
            return 2
        await state.audit.record("client_created", session=session, subject=issued.client_id,
                                via="cli")
        print(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))
        return 0

    return asyncio.run(_with_state(settings, work))


def cmd_keys_list(args: argparse.Namespace) -> int:
    """One JSON object a line: the public JWK, when it signs, whether it signs now."""
    settings = _settings()

    async def work(state: Any, session: Any) -> int:
        current = {state.keys.current(alg).kid for alg in ("RS256", "ES256")}
        for key in state.keys.published():
            print(json.dumps({**key, "current": key["kid"] in current}))
        return 0

    return asyncio.run(_with_state(settings, work))


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    settings = _settings()

    async def work(state: Any, session: Any) -> int:
        from authsvc.keys.rotation import rotate_keys

        added = await rotate_keys(state.keys, state.audit, state.redis, state.revocation_feed,
                                  session, via="cli")
        for key in added:
            print(json.dumps({"kid": key.kid, "alg": key.alg,
                              "signs_from": int(key.activates_at.timestamp())}))
        return 0

    return asyncio.run(_with_state(settings, work))


def cmd_unlock(args: argparse.Namespace) -> int:
    settings = _settings()

    async def work(state: Any, session: Any) -> int:
        from authsvc.identity.login import lockout_key

        key = lockout_key(args.email)
        await state.protector.unlock(key)
        await state.audit.record("unlock", subject=key, via="cli")
        print(f"authsvc: {key} unlocked", file=sys.stderr)
        return 0

    return asyncio.run(_with_state(settings, work))


def _admin_work(settings: Settings, action: Callable[[Any], Awaitable[int]]) -> int:
    """Run `action(AdminService)` in one transaction (audit rows after it commits)."""

    async def work(state: Any, session: Any) -> int:
        from authsvc.deps import admin_service, get_identity
        from authsvc.errors import AuthError

        identity = get_identity(state, session)
        try:
            return await action(admin_service(state, identity))
        except AuthError as exc:
            print(f"authsvc: {exc.description}", file=sys.stderr)
            return 1

    return asyncio.run(_with_state(settings, work))


def cmd_users_list(args: argparse.Namespace) -> int:
    """One JSON object a line, every user, in id order."""
    from authsvc.identity.schemas import user_body

    async def action(admin: Any) -> int:
        cursor = None
        while True:
            users, cursor = await admin.page_users(cursor, 100)
            for user in users:
                print(json.dumps(user_body(user)))
            if cursor is None:
                return 0

    return _admin_work(_settings(), action)


def cmd_users_disable(args: argparse.Namespace) -> int:
    async def action(admin: Any) -> int:
        user = await admin.user_by_email(args.email)
        await admin.set_active(user, False)
        print(f"authsvc: {user.email} disabled; every session ended", file=sys.stderr)
        return 0

    return _admin_work(_settings(), action)


def cmd_clients_list(args: argparse.Namespace) -> int:
    """One JSON object a line; never a secret."""
    from authsvc.admin.schemas import client_body

    async def action(admin: Any) -> int:
        for client in await admin.clients():
            print(json.dumps(client_body(client)))
        return 0

    return _admin_work(_settings(), action)


def cmd_clients_delete(args: argparse.Namespace) -> int:
    async def action(admin: Any) -> int:
        await admin.delete_client(args.client_id)
        print(f"authsvc: client {args.client_id} deleted", file=sys.stderr)
        return 0

    return _admin_work(_settings(), action)


def cmd_clients_rotate(args: argparse.Namespace) -> int:
    async def action(admin: Any) -> int:
        issued = await admin.rotate_secret(args.client_id)
        print(json.dumps({"client_id": issued.client_id, "client_secret": issued.client_secret}))
        return 0

    return _admin_work(_settings(), action)


def _admin_parsers(sub: Any) -> None:
    users = sub.add_parser("users", help="list or disable users").add_subparsers(
        dest="users_command", required=True)
    users.add_parser("list", help="print every user as JSON lines").set_defaults(
        func=cmd_users_list)
    disable = users.add_parser("disable", help="disable a user and end their sessions")
    disable.add_argument("email")
    disable.set_defaults(func=cmd_users_disable)

    clients = sub.add_parser("clients", help="list or delete service clients").add_subparsers(
        dest="clients_command", required=True)
    clients.add_parser("list", help="print every client as JSON lines (no secrets)").set_defaults(
        func=cmd_clients_list)
    delete = clients.add_parser("delete", help="delete a client (its tokens end at once)")
    delete.add_argument("client_id")
    delete.set_defaults(func=cmd_clients_delete)
    rotate = clients.add_parser("rotate-secret", help="a new secret, printed once (the old one "
                                "and its client-credentials tokens end at once)")
    rotate.add_argument("client_id")
    rotate.set_defaults(func=cmd_clients_rotate)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="authsvc", description=__doc__)
    top.add_argument("--version", action="version", version=f"authsvc {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    serve.add_argument("--host", default=os.environ.get("AUTHSVC_HOST", "127.0.0.1"),
                       help="address to listen on (env AUTHSVC_HOST)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("AUTHSVC_PORT", "8000")),
                       help="TCP port to listen on (env AUTHSVC_PORT)")
    serve.add_argument("--workers", type=int, default=int(os.environ.get("AUTHSVC_WORKERS", "1")),
                       help="worker processes; more than one needs AUTHSVC_REDIS_URL "
                            "(env AUTHSVC_WORKERS)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("create-admin", help="create a user with the admin role")
    admin.add_argument("email")
    admin.add_argument("--password-stdin", action="store_true",
                       help="read the password from one line of standard input")
    admin.set_defaults(func=cmd_create_admin)

    client = sub.add_parser("create-client", help="create a client; prints its secret once")
    client.add_argument("name")
    client.add_argument("--redirect-uri", action="append", metavar="URI",
                        help="a redirect URI for /authorize (exact match; repeat for more)")
    client.add_argument("--post-logout-redirect-uri", action="append", metavar="URI",
                        help="where GET /logout may send the browser back (repeatable)")
    client.add_argument("--public", action="store_true",
                        help="a public client (SPA, mobile app): no secret, PKCE only")
    client.add_argument("--first-party", action="store_true",
                        help="an app of this service's own: no consent page")
    client.add_argument("--scope", action="append", metavar="S",
                        help="an allowed scope (repeatable; default AUTHSVC_DEFAULT_SCOPES)")
    client.add_argument("--grant-type", action="append", metavar="G",
                        help="an allowed grant type (repeatable; default from the other flags)")
    client.set_defaults(func=cmd_create_client)

    keys = sub.add_parser("keys", help="list or rotate the signing keys").add_subparsers(
        dest="keys_command", required=True)
    keys.add_parser("list", help="print the published signing keys as JSON lines").set_defaults(
        func=cmd_keys_list)
    keys.add_parser("rotate", help="publish new signing keys now; they sign after "
                    "AUTHSVC_KEY_PREPUBLISH seconds").set_defaults(func=cmd_keys_rotate)

    unlock = sub.add_parser("unlock", help="clear the lockout of a username")
    unlock.add_argument("email")
    unlock.set_defaults(func=cmd_unlock)
    _admin_parsers(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
