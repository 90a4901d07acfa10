"""The Jinja2 environment of the hosted pages: autoescaping always on, two display filters.

Templates are HTML only and escape every value; the one exception is markup the server made
itself and marked safe (the TOTP QR code as SVG). Pages carry no inline script or style, so the
Content-Security-Policy needs no 'unsafe-inline'.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Undefined

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "build_environment", "format_duration", "format_time"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def format_duration(seconds: float | int | None) -> str:
    """`125` → "3 minutes"; rounds up so that a user never retries too early."""
    total = max(0, int(-(-float(seconds or 0) // 1)))
    if total < 60:
        return f"{total} second{'s' if total != 1 else ''}"
    minutes = -(-total // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-minutes // 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def format_time(epoch: float | int | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    """Seconds since the epoch as UTC text (`fmt="iso"` for a `<time datetime>` attribute)."""
    if epoch is None:
        return ""
    moment = datetime.fromtimestamp(float(epoch), tz=UTC)
    return moment.isoformat(timespec="seconds") if fmt == "iso" else moment.strftime(fmt)


def build_environment(*, undefined: type[Undefined] = Undefined,
                      templates_dir: Path | None = None, lang: str = "en") -> Environment:
    """`templates_dir` (AUTHSVC_PAGE_TEMPLATES_DIR) is searched first: a file there replaces
    ours of the same name (a `base.html` of one's own, say). `lang` picks the gettext catalog."""
    from authsvc.web.i18n import translations

    search = [templates_dir, TEMPLATES_DIR] if templates_dir else [TEMPLATES_DIR]
    env = Environment(
        loader=FileSystemLoader(search),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=undefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["brand"] = {"name": "authsvc", "logo_url": None, "colours": False}
    env.filters["duration"] = format_duration
    env.filters["time"] = format_time
    return env
