"""Rendering pages: one Jinja2 environment per (templates directory, language), HTML responses
and redirects.

What a page is rendered with — the operator's templates directory and brand, the browser's
language — is set per request (`PageRoute` and the HTML error pages call `use()`), so a page
handler only names its template and context.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, RedirectResponse, Response

from authsvc.web.i18n import DEFAULT, negotiate, translations
from authsvc.web.templating import build_environment


@dataclass(frozen=True)
class Look:
    """How pages look for this request: the brand (settings) and the language."""

    templates_dir: Path | None = None
    product: str = "authsvc"
    logo_url: str | None = None
    branded_colours: bool = False
    lang: str = DEFAULT


_DEFAULT_LOOK = Look()
_look: ContextVar[Look | None] = ContextVar("authsvc_page_look", default=None)


def use(conn: HTTPConnection) -> None:
    """Render this request's pages with the app's brand and the browser's language."""
    state = getattr(conn.app.state, "authsvc", None)
    settings = getattr(state, "settings", None)
    lang = negotiate(conn.headers.get("accept-language"))
    if settings is None:
        _look.set(Look(lang=lang))
        return
    _look.set(Look(
        templates_dir=settings.page_templates_dir, product=settings.product_name,
        logo_url=settings.brand_logo_url,
        branded_colours=bool(settings.brand_primary_color or settings.brand_primary_text_color),
        lang=lang,
    ))


@lru_cache(maxsize=16)
def environment(templates_dir: Path | None = None, lang: str = DEFAULT) -> Environment:
    return build_environment(templates_dir=templates_dir, lang=lang)


def page(template: str, *, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:
    look = _look.get() or _DEFAULT_LOOK
    _translate_messages(context, look.lang)
    context.setdefault("status", status)
    context.setdefault("brand", {"name": look.product, "logo_url": look.logo_url,
                                 "colours": look.branded_colours})
    context.setdefault("lang", look.lang)
    html = environment(look.templates_dir, look.lang).get_template(template).render(**context)
    response = HTMLResponse(html, status_code=status, headers=headers)
    response.headers.setdefault("Content-Language", look.lang)
    response.headers.setdefault("Vary", "Accept-Language")
    return response


MESSAGES = ("error", "notice", "title", "message", "link_text")


def _translate_messages(context: dict[str, Any], lang: str) -> None:
    """The messages the Python code passes (marked with `N_`) in the page's language; text
    built at run time has no catalog entry and stays as it is."""
    if lang == DEFAULT:
        return
    gettext = translations(lang).gettext
    for key in MESSAGES:
        if isinstance(context.get(key), str) and context[key]:
            context[key] = gettext(context[key])
    if context.get("flashes"):
        context["flashes"] = [{**f, "text": gettext(f["text"])} for f in context["flashes"]]


def redirect(url: str) -> Response:
    """303 See Other: after a POST the browser follows with a GET (RFC 9110 §15.4.4)."""
    return RedirectResponse(url, status_code=303)
