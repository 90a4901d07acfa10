"""Browser sessions: a random id in the cookie, an encrypted payload in Redis."""

from authsvc.sessions.model import Session
from authsvc.sessions.store import SessionConflict, SessionStore

__all__ = ["Session", "SessionConflict", "SessionStore"]
