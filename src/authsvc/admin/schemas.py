"""Request and response bodies of the admin endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from authsvc.clients.models import Client
from authsvc.clients.registration import ClientSpec
from authsvc.identity.schemas import UserOut

Role = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_:.\-]{0,63}$")]


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(default=None, max_length=20)
    is_active: bool | None = None


Uri = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No control characters (a NUL cannot be stored in PostgreSQL text: a 422, never a 500).
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    type: Literal["confidential", "public"] = "confidential"
    redirect_uris: list[Uri] = Field(default_factory=list, max_length=20)
    post_logout_redirect_uris: list[Uri] = Field(default_factory=list, max_length=20)
    grant_types: list[str] | None = Field(default=None, max_length=10)
    scopes: list[Scope] | None = Field(default=None, max_length=50)
    first_party: bool = False
    id_token_alg: Literal["RS256", "ES256"] = "RS256"  # noqa: S105 - an algorithm name

    def spec(self) -> ClientSpec:
        return ClientSpec(
            name=self.name, type=self.type, redirect_uris=tuple(self.redirect_uris),
            post_logout_redirect_uris=tuple(self.post_logout_redirect_uris),
            grant_types=tuple(self.grant_types) if self.grant_types is not None else None,
            scopes=tuple(self.scopes) if self.scopes is not None else None,
            first_party=self.first_party, id_token_alg=self.id_token_alg,
        )


class ClientPatch(BaseModel):
    """Any of the client's settings; its type and id never change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200,
                             pattern=r"^[^\x00-\x1f\x7f]+$")
    redirect_uris: list[Uri] | None = Field(default=None, max_length=20)
    post_logout_redirect_uris: list[Uri] | None = Field(default=None, max_length=20)
    grant_types: list[str] | None = Field(default=None, max_length=10)
    scopes: list[Scope] | None = Field(default=None, max_length=50)
    first_party: bool | None = None
    id_token_alg: Literal["RS256", "ES256"] | None = None
    is_active: bool | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude_none=True)


def client_body(client: Client) -> dict[str, Any]:
    """A client as admins see it: never its secret or the secret's digest."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "is_active": client.is_active,
        "created_at": int(client.created_at.timestamp()) if client.created_at else None,
        "type": client.type,
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types or []),
        "scopes": list(client.scopes or []),
        "first_party": bool(client.first_party),
        "id_token_alg": client.id_token_alg,
    }


class ClientOut(BaseModel):
    client_id: str
    name: str
    is_active: bool
    created_at: int | None
    type: Literal["confidential", "public"]
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    first_party: bool
    id_token_alg: str


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
