"""Structured logs: one JSON object a line, configured once at start from `log_level`.

Nothing secret may reach a log line. Request bodies and Authorization headers are never logged;
on top of that `Redactor` (a logging Filter on the one handler) blanks every configured secret
and anything shaped like a JWT in the message, its arguments and any traceback.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import IO, Any
from urllib.parse import urlsplit

import orjson

from authsvc.config import Settings

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                          default=None)
REDACTED = "[redacted]"
# A JWS in compact form: three base64url segments; the header always starts with `{"` = `eyJ`.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
FIELDS = ("request_id", "route", "method", "status", "duration_ms", "user_id", "client_ip",
          "event")
HANDLER_NAME = "authsvc-json"


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def secrets_of(settings: Settings) -> list[str]:
    """Every configured secret, passwords inside the storage URLs included."""
    values = list(settings.secret_values())
    values += [p for p in (_url_password(settings.database_url),
                           _url_password(settings.redis_url)) if p]
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


class Redactor(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return JWT.sub(REDACTED, text) if "eyJ" in text else text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.exc_info = None
        for name in FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if "request_id" not in line:
            current = request_id.get()
            if current:
                line["request_id"] = current
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install the JSON handler on the root logger (replacing an earlier one of ours)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redactor(secrets_of(settings)))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log replaces it
    return handler
