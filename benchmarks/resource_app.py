"""A resource server for the benchmark: FastAPI, one GET /orders endpoint with a constant body,
guarded by authsvc-client (`BENCH_GUARD=library`) or not at all (`BENCH_GUARD=none`).

    BENCH_GUARD=library BENCH_CACHE_TTL=30 BENCH_AUTHSVC_URL=http://127.0.0.1:8110 \\
    BENCH_CLIENT_ID=c_... BENCH_CLIENT_SECRET=... \\
        python benchmarks/serve.py benchmarks.resource_app:create_app --port 8120

Served like authsvc (benchmarks/serve.py: uvicorn, uvloop, httptools), so the rows compare the
library's cost (an introspection per request, or a cache hit) with the bare endpoint.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI
from starlette.responses import Response

BODY = b'{"orders":[]}'


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    guard = os.environ.get("BENCH_GUARD", "none")

    @app.get("/health/live")
    async def live() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    if guard == "none":
        @app.get("/orders")
        async def orders_open() -> Response:
            return Response(BODY, media_type="application/json")

        return app

    from authsvc_client import AsyncAuthsvcClient
    from authsvc_client.fastapi import install, token_required

    client = AsyncAuthsvcClient(
        os.environ["BENCH_AUTHSVC_URL"], os.environ["BENCH_CLIENT_ID"],
        os.environ["BENCH_CLIENT_SECRET"], cache_ttl=float(os.environ.get("BENCH_CACHE_TTL", "0")),
    )
    install(app)

    @app.get("/orders")
    async def orders(token: dict[str, Any] = Depends(token_required(client))) -> Response:
        return Response(BODY, media_type="application/json")

    return app
