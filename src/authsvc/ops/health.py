"""Liveness and readiness for orchestrators and the Dockerfile's HEALTHCHECK."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from authsvc.deps import State
from authsvc.ops.schemas import HealthOut
from authsvc.responses import json_response

router = APIRouter(tags=["operations"])


@router.get("/health/live", response_model=HealthOut)
async def live() -> Response:
    return json_response({"status": "ok"})


@router.get("/health/ready", response_model=HealthOut, responses={
    503: {"model": HealthOut, "description": "A store is unreachable (with `Retry-After`).",
          "headers": {"Retry-After": {"schema": {"type": "string"}}}}})
async def ready(state: State) -> Response:
    checks: dict[str, str] = {}

    async def database() -> None:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await state.redis.ping()

    for name, probe in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), timeout=2.0)
            checks[name] = "ok"
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks[name] = "unavailable"
    ok = all(v == "ok" for v in checks.values())
    return json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status=200 if ok else 503,
        headers={} if ok else {"Retry-After": "5"},
    )
