"""Running the Alembic migrations shipped inside the package (`authsvc migrate`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config() -> Config:
    config = Config()
    location = Path(str(resources.files("authsvc"))) / "migrations"
    config.set_main_option("script_location", str(location))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to `revision` on the given engine."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def upgrade_embedded(engine: AsyncEngine) -> None:
    """The development SQLite file migrates itself at start."""
    await upgrade(engine)
