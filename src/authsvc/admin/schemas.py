"""Request and response bodies of the admin endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from authsvc.clients.models import Client

Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_:.\-]{0,63}$")]


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


class ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


def client_body(client: Client) -> dict[str, Any]:
    """A client as admins see it: never its secret or the secret's digest."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "is_active": client.is_active,
        "created_at": int(client.created_at.timestamp()) if client.created_at else None,
    }
