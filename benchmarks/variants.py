"""authsvc app variants that only the benchmark serves (never shipped).

`without_introspect_limit`: the real app with the per-client rate limit on /introspect
switched off, to measure what the limiter itself costs (the row "limiter off").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from authsvc.main import create_app


def without_introspect_limit() -> Any:
    app = create_app()
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[None]:
        async with inner(application):
            # No rate for the bucket: /introspect skips the check (in the hot path's pipeline).
            application.state.authsvc.rates["rate_limit_introspect"] = None
            yield

    app.router.lifespan_context = lifespan
    return app
