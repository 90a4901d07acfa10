"""The OAuth edge: /token (RFC 6749), /introspect (RFC 7662), /revoke (RFC 7009), /logout and
the authorization-server metadata (RFC 8414). Form in, JSON out; services do the work."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from authsvc.deps import (
    CallerInfo,
    CurrentToken,
    DbSession,
    Identity,
    State,
    get_state,
    rate_limit,
    token_request,
)
from authsvc.errors import InvalidRequest, TooManyRequests, respond
from authsvc.forms import read_form, require
from authsvc.headers import api_headers
from authsvc.oidc.discovery import metadata as provider_metadata
from authsvc.openapi import (
    OAUTH_ERRORS,
    REVOKE_FORM,
    TOKEN_ERRORS,
    TOKEN_FORM,
    error_responses,
)
from authsvc.responses import NO_STORE, json_response
from authsvc.routing import Credentialed
from authsvc.tokens.grants import GrantRegistry
from authsvc.tokens.schemas import MetadataOut, TokenOut

router = APIRouter(tags=["tokens"])


@router.post("/token", dependencies=[rate_limit("token", "rate_limit_token")],
             response_model=TokenOut, responses=TOKEN_ERRORS, openapi_extra=TOKEN_FORM)
async def token(
    request: Request, state: State, identity: Identity, client: CallerInfo
) -> Response:
    """RFC 6749 §3.2: the grant named by `grant_type`, looked up in the registry."""
    form = await read_form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("The parameter 'grant_type' is required.")
    grants: GrantRegistry = request.app.state.grants
    grant = grants.find(grant_type)
    body = await grant.issue(token_request(
        state, form, request.headers.get("authorization"), client, identity))
    return json_response(body, headers=NO_STORE)


async def introspect(request: Request) -> Response:
    """POST /introspect, a plain Starlette route: the hot path of every service behind authsvc
    skips FastAPI's dependency solving and parameter validation (it needs neither)."""
    state = get_state(request)
    form = await read_form(request)
    view = await state.clients.authenticate(request.headers.get("authorization"), form)
    assert view is not None
    rate = state.rates["rate_limit_introspect"]
    # Counted in batches (LocalShare); a due report rides the introspector's one round trip.
    cost = state.introspect_share.take("introspect", view.client_id, rate) if rate else 0
    limit = ("introspect", view.client_id, rate, cost) if cost else None
    try:
        token = form.get("token")
        if token is None:
            if limit is not None:
                await state.limiter.hit(*limit)
            raise InvalidRequest("The parameter 'token' is required.")
        body = await state.introspector.introspect(
            token, form.get("token_type_hint"), form.get("client_user_agent"),
            form.get("client_ip"), limit=limit,
        )
    except TooManyRequests as refused:
        state.introspect_share.refused("introspect", view.client_id, refused.retry_after)
        raise
    return json_response(body, headers=NO_STORE)


router.add_route("/introspect", introspect, methods=["POST"], include_in_schema=False)


async def introspect_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /introspect as a bare ASGI app, answered before FastAPI's middleware stack (see
    main.App): the same handler, with the app's error rendering and the security headers every
    other answer gets from SecurityHeaders (a precomputed tuple, appended once)."""
    request = Request(scope, receive)
    try:
        response = await introspect(request)
    except Exception as exc:  # a refusal, a streamed body over the limit, an outage, a bug
        response = respond(exc, scope)
    response.raw_headers.extend(api_headers(scope, scope["app"].hot_trusted_proxies))
    await response(scope, receive, send)


@router.post("/revoke", responses=OAUTH_ERRORS, openapi_extra=REVOKE_FORM)
async def revoke(request: Request, state: State, session: DbSession) -> Response:
    form = await read_form(request)
    view = await state.clients.authenticate(request.headers.get("authorization"), form)
    assert view is not None
    await state.limiter.hit("revoke", view.client_id, state.rates["rate_limit_revoke"])
    (token,) = require(form, "token")
    await state.tokens.revoke(session, token, form.get("token_type_hint"),
                              requester=view.client_id)
    return Response(status_code=200, headers=NO_STORE)


async def logout(token: CurrentToken, state: State, session: DbSession) -> Response:
    """Revoke this access token and its refresh family. A request without an Authorization
    header is a browser's: the pages' `POST /logout` answers it (`authsvc.routing`)."""
    await state.tokens.revoke_access(session, token.claims, "logout")
    await state.tokens.revoke_family_of(session, token.claims.get("sid"), "logout")
    await state.audit.record("logout", session=session, user_id=token.user_id)
    return Response(status_code=204)


router.add_api_route("/logout", logout, methods=["POST"], status_code=204,
                     responses=error_responses(401, 429, 503), route_class_override=Credentialed)


@router.get("/.well-known/oauth-authorization-server", response_model=MetadataOut)
async def metadata(request: Request, state: State) -> Response:
    """RFC 8414 §2: the same document as OpenID Connect Discovery's, with the registry's
    grants."""
    return json_response(provider_metadata(state.settings, list(request.app.state.grants)),
                         headers={"Cache-Control": "public, max-age=3600"})
