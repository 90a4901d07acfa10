"""Response bodies of the OAuth endpoints, for the OpenAPI document (the routes build their
bodies as dicts and answer with `json_response`; these models only describe them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class TokenOut(BaseModel):
    """RFC 6749 §5.1: the `/token` success body (also the step-up answer)."""

    model_config = ConfigDict(extra="allow")

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str | None = None
    scope: str | None = None


class IntrospectionOut(BaseModel):
    """RFC 7662 §2.2: `{"active": false}`, or the token's description; members without a value
    are left out."""

    model_config = ConfigDict(extra="allow")

    active: bool
    sub: str | None = None
    username: str | None = None
    client_id: str | None = None
    scope: str | None = None
    token_type: Literal["access_token", "refresh_token"] | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    jti: str | None = None
    iss: str | None = None
    aud: str | list[str] | None = None
    roles: list[str] | None = None
    amr: list[str] | None = None
    auth_time: int | None = None
    sid: str | None = None


class MetadataOut(BaseModel):
    """RFC 8414 §2: the authorization server's metadata."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    token_endpoint: str
    introspection_endpoint: str
    revocation_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
