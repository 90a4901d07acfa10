"""Request and response bodies of the admin endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from authsvc.clients.models import Client
from authsvc.identity.schemas import UserOut

Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_:.\-]{0,63}$")]


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class ClientCreate(BaseModel):
    # No control characters (a NUL cannot be stored in PostgreSQL text: a 422, never a 500).
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")


def client_body(client: Client) -> dict[str, Any]:
    """A client as admins see it: never its secret or the secret's digest."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "is_active": client.is_active,
        "created_at": int(client.created_at.timestamp()) if client.created_at else None,
    }


class ClientOut(BaseModel):
    client_id: str
    name: str
    is_active: bool
    created_at: int | None


class ClientList(BaseModel):
    items: list[ClientOut]


class ClientSecretOut(BaseModel):
    """The client's secret, shown this once."""

    model_config = ConfigDict(extra="allow")

    client_id: str
    client_secret: str | None
    name: str | None = None


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class AuditEventOut(BaseModel):
    id: int
    at: int | None
    type: str
    user_id: str | None
    subject: str | None
    client_ip: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
