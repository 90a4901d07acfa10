"""`/favicon.ico`: browsers ask for it on every site, whatever the page's `<link rel="icon">`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from authsvc.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/branding.css")
async def branding(request: Request) -> Response:
    """The operator's colours (AUTHSVC_BRAND_*_COLOR, checked as #rrggbb) as CSS custom
    properties: a stylesheet of our own origin, so the pages' CSP stays `style-src 'self'`."""
    settings = request.app.state.authsvc.settings
    rules = [f"  --{name}: {value};" for name, value in (
        ("primary", settings.brand_primary_color),
        ("primary-hover", settings.brand_primary_color),
        ("primary-text", settings.brand_primary_text_color),
    ) if value]
    css = ":root {\n" + "\n".join(rules) + "\n}\n" if rules else ""
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"})
