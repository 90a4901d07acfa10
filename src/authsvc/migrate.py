"""Running the Alembic migrations shipped inside the package (`authsvc migrate`)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config() -> Config:
    config = Config()
    location = Path(str(resources.files("authsvc"))) / "migrations"
    config.set_main_option("script_location", str(location))
    return config


@dataclass(frozen=True)
class Upgrade:
    """What one `upgrade()` did: the revisions it applied (oldest first) and the tables it made."""

    applied: tuple[str, ...]
    tables_created: int

    def summary(self) -> str:
        if not self.applied:
            return "database already up to date"
        done = f"applied revision{'s' if len(self.applied) > 1 else ''} {', '.join(self.applied)}"
        if self.tables_created:
            done = f"created {self.tables_created} tables; {done}"
        return done


async def upgrade(engine: AsyncEngine, revision: str = "head") -> Upgrade:
    """Bring the database up to `revision` on the given engine; says what it did."""

    def run(connection: Connection) -> Upgrade:
        config = alembic_config()
        config.attributes["connection"] = connection
        before, tables = _revision(connection), _tables(connection)
        command.upgrade(config, revision)
        after = _revision(connection)
        scripts = ScriptDirectory.from_config(config)
        applied = [] if after == before else [
            script.revision for script in scripts.iterate_revisions(after, before)
        ]
        return Upgrade(tuple(reversed(applied)), len(_tables(connection) - tables))

    async with engine.begin() as connection:
        return await connection.run_sync(run)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def upgrade_embedded(engine: AsyncEngine) -> None:
    """The development SQLite file migrates itself at start."""
    await upgrade(engine)
