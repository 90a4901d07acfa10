"""One browser's session during a request: load it once, start, rotate or end it, and remember
which cookie the response must carry (`PageRoute` applies it)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from authsvc.sessions.model import Session
from authsvc.sessions.store import SessionStore
from authsvc.web.cookies import SESSION, clear_cookie, set_cookie


class BrowserSession:
    def __init__(self, store: SessionStore, *, secure: bool, sid: str | None,
                 session: Session | None, had_cookie: bool) -> None:
        self.store = store
        self.secure = secure
        self.sid = sid
        self.session = session
        self.had_cookie = had_cookie
        self._cookie: str | None = None  # "set" or "clear"

    @property
    def signed_in(self) -> bool:
        return self.session is not None and self.session.user_id is not None

    @property
    def expired(self) -> bool:
        """The browser sent a session id that is no longer alive (timed out or ended)."""
        return self.had_cookie and self.session is None

    async def start(self, **data: Any) -> Session:
        """A new session under a new id; the previous id, if any, dies now (session fixation)."""
        await self.store.destroy(self.sid)
        self.sid, self.session = await self.store.create(data)
        self._cookie = "set"
        return self.session

    async def rotate(self, session: Session | None = None) -> None:
        """Same session (or `session`), new id; the old id is dead in the same transaction."""
        if self.sid is None:
            raise RuntimeError("no session to rotate")
        new_sid = await self.store.rotate(self.sid, session or self.session)
        if new_sid is None:
            await self.end()
            return
        self.sid = new_sid
        self._cookie = "set"

    async def save(self) -> None:
        if self.sid is not None and self.session is not None:
            await self.store.save(self.sid, self.session)

    async def end(self) -> None:
        await self.store.destroy(self.sid)
        self.sid, self.session = None, None
        self._cookie = "clear"

    def forget_cookie(self) -> None:
        """The browser's cookie names no live session: tell it to drop it."""
        if self.had_cookie and self._cookie is None:
            self._cookie = "clear"

    def apply(self, response: Response) -> None:
        if self._cookie == "set" and self.sid:
            set_cookie(response, SESSION, self.sid, secure=self.secure)
        elif self._cookie == "clear":
            clear_cookie(response, SESSION, secure=self.secure)
