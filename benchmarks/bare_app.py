"""The ceiling: a bare FastAPI app whose POST /introspect parses the same form body as
authsvc's (the same `read_form`) and returns a constant JSON body with orjson.

Served exactly like authsvc (uvicorn, uvloop, httptools, same worker count) by
`benchmarks/serve.py`, so the ratio introspection / ceiling says how much of the machine the
real endpoint uses up on top of the framework's own cost.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from authsvc.forms import read_form

BODY = orjson.dumps({"active": True, "sub": "bench", "token_type": "access_token"})
HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/introspect")
    async def introspect(request: Request) -> Response:
        form = await read_form(request)
        form.get("token")
        return Response(BODY, media_type="application/json", headers=HEADERS)

    @app.get("/health/live")
    async def live() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return app
