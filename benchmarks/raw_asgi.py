"""The raw ceiling: an ASGI app with no framework, a constant JSON answer to any request (after
reading the body, as an endpoint must), served by uvicorn with httptools and uvloop:

    python -m uvicorn benchmarks.raw_asgi:app --http httptools --loop uvloop --port 18001

The ratio introspection / this says how much of what uvicorn itself can serve authsvc keeps.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"active":true,"sub":"bench","token_type":"access_token"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
           (b"cache-control", b"no-store")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":  # nothing to start or stop
        while True:
            kind = (await receive())["type"]
            await send({"type": kind + ".complete"})
            if kind == "lifespan.shutdown":
                return
    more = True
    while more:  # the whole request body, as a real endpoint reads it
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
