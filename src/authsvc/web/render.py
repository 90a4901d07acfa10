"""Rendering pages: the one Jinja2 environment, HTML responses and redirects."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authsvc.web.templating import build_environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    return build_environment()


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    context.setdefault("status", status)
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)


def redirect(url: str) -> Response:
    """303 See Other: after a POST the browser follows with a GET (RFC 9110 §15.4.4)."""
    return RedirectResponse(url, status_code=303)
