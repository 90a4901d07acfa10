"""The provider's JSON endpoints: `/jwks` (RFC 7517 §5), `/userinfo` (OpenID Connect Core 1.0
§5.3) and `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from authsvc.deps import CurrentToken, Identity, State
from authsvc.errors import AuthError, InvalidToken
from authsvc.oidc.claims import user_claims
from authsvc.oidc.discovery import metadata
from authsvc.openapi import error_responses
from authsvc.responses import NO_STORE, json_response
from authsvc.tokens.schemas import MetadataOut

router = APIRouter(tags=["openid-connect"])


class JwksOut(BaseModel):
    """RFC 7517 §5: a JWK Set."""

    keys: list[dict[str, Any]]


class UserinfoOut(BaseModel):
    """OpenID Connect Core §5.3.2: `sub` and the claims of the token's scopes."""

    model_config = ConfigDict(extra="allow")

    sub: str


class InsufficientScope(AuthError):
    """RFC 6750 §3.1."""

    status = 403
    code = "insufficient_scope"
    description = "The access token lacks the openid scope."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", '
                                                      'scope="openid"'})


@router.get("/jwks", response_model=JwksOut)
async def jwks(state: State) -> Response:
    """Every published signing key (`kid`, `use`, `alg`): the current ones, the pre-published
    next ones, and retired ones until the last token they signed has expired."""
    return json_response(state.keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/openid-configuration", response_model=MetadataOut)
async def openid_configuration(request: Request, state: State) -> Response:
    return json_response(metadata(state.settings, list(request.app.state.grants)),
                         headers={"Cache-Control": "public, max-age=3600"})


async def _userinfo(token: CurrentToken, identity: Identity) -> Response:
    scopes = set(str(token.claims.get("scope") or "").split())
    if "openid" not in scopes:
        raise InsufficientScope()
    user = await identity.get(token.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("The access token's user is disabled or deleted.")
    return json_response(user_claims(user, scopes), headers=NO_STORE)


for _method in ("GET", "POST"):  # OpenID Connect Core §5.3.1: both, one operation id each
    router.add_api_route("/userinfo", _userinfo, methods=[_method],
                         responses=error_responses(401, 403, 503), response_model=UserinfoOut,
                         operation_id=f"userinfo{_method.capitalize()}")
