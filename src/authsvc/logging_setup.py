"""Structured logs: one JSON object a line, configured once at start from `log_level`.

Logging never blocks the event loop: the root logger's handler only puts the record on a
bounded in-memory queue, and a `QueueListener` thread redacts, formats and writes it (the
caller's thread does no more than make the message); when the queue is full a record is dropped
and counted, never waited for. Request lines carry the
`request_id` and the W3C `trace_id` (taken from `traceparent` or made, middleware.py).

Nothing secret may reach a log line. Request bodies and Authorization headers are never logged;
on top of that `Redactor` (a logging Filter on the writing handler) blanks every configured secret
and anything shaped like a JWT in the message, its arguments and any traceback.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import logging.handlers
import queue
import re
import sys
import time
from typing import IO, Any
from urllib.parse import urlsplit

import orjson

from authsvc.config import Settings

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                          default=None)
trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
REDACTED = "[redacted]"
QUEUE_SIZE = 10_000  # records waiting for the writer thread; more are dropped (and counted)
# A JWS in compact form: three base64url segments; the header always starts with `{"` = `eyJ`.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
FIELDS = ("request_id", "trace_id", "route", "method", "status", "duration_ms", "user_id",
          "client_ip", "event")
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
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class NonBlockingQueueHandler(logging.handlers.QueueHandler):
    """Puts records on the queue without waiting; the request context (a contextvar, not
    visible in the writer thread) is copied onto the record first."""

    def __init__(self, q: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(q)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Only what cannot wait for the writer thread happens here, on the caller's thread
        # (the event loop): the message and a traceback are made from objects that may change
        # or go once the caller moves on. Redacting and formatting happen in the writer thread
        # (the Redactor filters the writing handler), before anything is written.
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        for name, var in (("request_id", request_id), ("trace_id", trace_id)):
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1


_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    """Write what is queued and stop the writer thread (at reconfiguration and at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(_stop_listener)


def flush() -> None:
    """Wait until the writer thread has written every queued record (tests, shutdown)."""
    if _listener is not None:
        _listener.queue.join()  # type: ignore[attr-defined]


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install the JSON logging on the root logger (replacing an earlier one of ours): a
    queue handler here, the writing in a listener thread."""
    global _listener
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    _stop_listener()
    records: queue.Queue[logging.LogRecord] = queue.Queue(QUEUE_SIZE)
    writer = logging.StreamHandler(stream or sys.stderr)
    writer.setFormatter(JsonFormatter())
    writer.addFilter(Redactor(secrets_of(settings)))  # in the writer thread, before writing
    handler = NonBlockingQueueHandler(records)
    handler.set_name(HANDLER_NAME)
    # A record's source file, line, thread and process names are never written (JsonFormatter
    # has no such field); not gathering them spares every log call a walk up the stack
    # (the logging HOWTO's "Optimization").
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    _listener = logging.handlers.QueueListener(records, writer)
    _listener.start()
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access log replaces it
    return handler
