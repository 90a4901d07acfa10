"""The embedded default: the whole flow with no PostgreSQL and no Redis (a SQLite file and the
in-process stand-in), and the CLI against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from authsvc.config import load_settings
from authsvc.main import create_app
from tests import flows, infra


async def test_whole_flow_on_the_embedded_defaults(tmp_path: Path, monkeypatch) -> None:
    for key in list(os.environ):
        if key.startswith("AUTHSVC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(data_dir=tmp_path / "data", bcrypt_rounds=4)
    assert settings.embedded_database and settings.embedded_redis
    app = create_app(settings)
    async with infra.running(app), infra.Api(app) as api:
        state = app.state.authsvc
        client = await flows.new_client(state)
        user = await flows.register(api)
        tokens = await flows.login(api, user)
        assert (await flows.introspect(api, client, tokens["access_token"]))["active"]
        rotated = await flows.refresh(api, tokens["refresh_token"])
        assert rotated.status_code == 200
        new = rotated.json()
        response = await api.post("/revoke", data={"token": new["refresh_token"]},
                                  headers=flows.basic(*client))
        assert response.status_code == 200
        assert await flows.introspect(api, client, new["access_token"]) == {"active": False}
        assert (await flows.refresh(api, tokens["refresh_token"])).status_code == 400
    assert (tmp_path / "data" / "authsvc.sqlite3").exists()


def test_cli_creates_a_client_and_an_admin_on_the_embedded_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(AUTHSVC_DATA_DIR=str(tmp_path / "data"), AUTHSVC_BCRYPT_ROUNDS="4")
    cli = [sys.executable, "-m", "authsvc"]
    migrated = subprocess.run([*cli, "migrate"], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    created = subprocess.run([*cli, "create-client", "billing"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert set(body) == {"client_id", "client_secret"}
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "authsvc.sqlite3") as db:  # committed, not rolled back
        rows = db.execute("SELECT client_id FROM clients").fetchall()
    assert rows == [(body["client_id"],)]
    admin = subprocess.run([*cli, "create-admin", "root@example.com", "--password-stdin"],
                           env=env, cwd=tmp_path, input="Admin-Password-123\n",
                           capture_output=True, text=True, timeout=60)
    assert admin.returncode == 0, admin.stderr
    assert json.loads(admin.stdout)["roles"] == ["admin"]
    weak = subprocess.run([*cli, "create-admin", "weak@example.com", "--password-stdin"],
                          env=env, cwd=tmp_path, input="weak\n", capture_output=True, text=True,
                          timeout=60)
    assert weak.returncode == 2 and "policy" in weak.stderr
    for command in ("serve", "migrate", "create-admin", "create-client"):
        helped = subprocess.run([*cli, command, "--help"], capture_output=True, text=True,
                                timeout=30)
        assert helped.returncode == 0 and "usage" in helped.stdout


def test_production_refuses_to_start_and_names_the_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(AUTHSVC_ENV="production", AUTHSVC_JWT_SECRET="short")
    result = subprocess.run([sys.executable, "-m", "authsvc", "serve"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "AUTHSVC_JWT_SECRET" in result.stderr
    assert "short" not in result.stderr.replace("short ", "")


async def test_sqlite_reads_back_aware_utc_datetimes(tmp_path: Path) -> None:
    """Every DateTime column, read through the ORM or as a bare column, is aware UTC on SQLite
    (naive ones made the reset and verification spends raise TypeError)."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import select

    from authsvc.db import make_engine, make_sessionmaker
    from authsvc.migrate import upgrade
    from authsvc.tokens.models import Revocation

    engine = make_engine(load_settings(data_dir=tmp_path))
    try:
        await upgrade(engine)
        factory = make_sessionmaker(engine)
        plus_two = datetime(2030, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
        async with factory() as session:
            session.add(Revocation(jti="j1", expires_at=plus_two, reason="test",
                                   created_at=datetime.now(UTC)))
            await session.commit()
        async with factory() as session:
            (expires,) = (await session.execute(select(Revocation.expires_at))).one()
            row = (await session.execute(select(Revocation))).scalar_one()
        assert expires == row.expires_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        assert expires.tzinfo is not None and row.created_at.tzinfo is not None
        assert row.expires_at > datetime.now(UTC)  # comparable with aware "now"
    finally:
        await engine.dispose()


def test_one_data_directory_whatever_the_working_directory(tmp_path: Path) -> None:
    """`cd elsewhere && authsvc create-client` reaches the same database as before; the CLI names
    the database and data directory on stderr, and `migrate` says what it did."""
    import sqlite3

    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), AUTHSVC_BCRYPT_ROUNDS="4")
    data = tmp_path / "xdg" / "authsvc"
    cli = [sys.executable, "-m", "authsvc"]
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*cli, *args], env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    migrated = run("migrate", cwd=first)
    assert "created " in migrated.stderr and "tables" in migrated.stderr
    assert "applied revision" in migrated.stderr
    again = run("migrate", cwd=second)
    assert "already up to date" in again.stderr and "created" not in again.stderr
    ids = []
    for where in (first, second):
        created = run("create-client", f"app-{where.name}", cwd=where)
        ids.append(json.loads(created.stdout)["client_id"])  # stdout: one JSON object
        assert f"SQLite file {data / 'authsvc.sqlite3'}" in created.stderr
        assert f"data directory: {data}" in created.stderr
    admin = subprocess.run([*cli, "create-admin", "a@example.com", "--password-stdin"], env=env,
                           cwd=second, input="Admin-Password-123\n", capture_output=True,
                           text=True, timeout=60)
    assert admin.returncode == 0 and str(data) in admin.stderr
    assert not (first / ".authsvc").exists() and not (second / ".authsvc").exists()
    with sqlite3.connect(data / "authsvc.sqlite3") as db:
        rows = {row[0] for row in db.execute("SELECT client_id FROM clients")}
    assert rows == set(ids)
