"""A Server-Sent Events parser (HTML Living Standard §9.2.6, "Interpreting an event stream")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: str
    id: str | None  # the stream's last event id after this event


class EventParser:
    """Feed it lines (without their line ends); it returns an Event at each blank line."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._type = ""
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: keep-alive
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None

    def _dispatch(self) -> Event | None:
        data, kind = "\n".join(self._data), self._type or "message"
        self._type, self._data = "", []
        if not data:
            return None
        return Event(kind, data, self.last_id)
