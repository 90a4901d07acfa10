"""The resources every component shares, opened once at start-up (Polar's typed `State`):
settings, the database engine and its sessionmaker, Redis, the meter and the background tasks.
Nothing here knows a service; the composition root (composition.py) builds those from these."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.background import Background
from authsvc.config import Settings
from authsvc.ops.meter import Meter


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    meter: Meter = field(default_factory=Meter)
    tasks: Background = field(default_factory=Background)  # work no answer waits for
