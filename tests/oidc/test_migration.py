"""Migration 0006 keeps the clients that existed working: they become confidential service
clients with the grants they always had and the default scope allow-list (PostgreSQL and the
embedded SQLite alike)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import sqlalchemy as sa

from authsvc.config import load_settings
from authsvc.db import make_engine
from authsvc.migrate import upgrade
from tests import infra

SECRET = "an-old-clients-secret-0123456789-abcdefghij"


async def _old_client_survives(url: str) -> None:
    engine = make_engine(load_settings(env="testing", database_url=url, redis_url="redis://x"))
    try:
        await upgrade(engine, "0002")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO clients (id, client_id, name, secret_hash, roles, is_active, "
                "created_at) VALUES (:id, 'c_old', 'legacy', :hash, '[]', true, "
                "CURRENT_TIMESTAMP)"),
                {"id": str(uuid.uuid4()) if "sqlite" in url else uuid.uuid4(),
                 "hash": hashlib.sha256(SECRET.encode()).hexdigest()})
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text(
                "SELECT type, grant_types, scopes, redirect_uris, first_party, secret_hash "
                "FROM clients WHERE client_id = 'c_old'"))).one()
    finally:
        await engine.dispose()
    import json

    def listed(value: object) -> list[str]:
        return json.loads(value) if isinstance(value, str) else list(value)  # type: ignore

    assert row.type == "confidential" and not row.first_party
    assert listed(row.grant_types) == ["password", "refresh_token", "client_credentials",
                                       "urn:authsvc:params:oauth:grant-type:mfa"]
    assert listed(row.scopes) == ["openid", "profile", "email", "offline_access"]
    assert listed(row.redirect_uris) == [] and row.secret_hash


async def test_existing_clients_keep_working_on_postgresql() -> None:
    name, url = await infra.create_database()
    try:
        await _old_client_survives(url)
    finally:
        await infra.drop_database(name)


async def test_existing_clients_keep_working_on_sqlite(tmp_path: Path) -> None:
    await _old_client_survives(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
