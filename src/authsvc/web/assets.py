"""`/favicon.ico`: browsers ask for it on every site, whatever the page's `<link rel="icon">`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

from authsvc.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})
