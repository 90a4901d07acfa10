"""What the OpenAPI document says about errors, security and form bodies, in one place.

Every error leaves as `{"error", "error_description", ...}` (the contract): ONE schema,
`ErrorBody`; `error_responses(...)` documents the statuses a route can answer with, and
`form_body(...)` describes the `application/x-www-form-urlencoded` bodies that the OAuth
endpoints read themselves. `install(app)` post-processes FastAPI's document: the security
schemes (HTTP Basic for clients, RFC 6749 §2.3.1; Bearer, RFC 6750) per operation, 401/403
where they occur, the one error schema, and /introspect (a bare ASGI route)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """The contract's error shape; some errors add fields (`mfa_token`, `unmet`, `detail`...)."""

    model_config = ConfigDict(extra="allow")

    error: str
    error_description: str
    mfa_token: str | None = Field(None, description="`mfa_required`: the token of the MFA grant.")
    mfa_methods: list[str] | None = Field(None, description="`mfa_required`: the user's factors.")
    unmet: list[str] | None = Field(None, description="`weak_password`: the rules not met.")
    detail: list[dict[str, Any]] | None = Field(None, description="422: what was invalid.")


BEARER = "bearer"
CLIENT_BASIC = "clientBasic"
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "A user's access token from POST /token (RFC 6750)."},
    CLIENT_BASIC: {"type": "http", "scheme": "basic",
                   "description": "A service client's `client_id:client_secret` (RFC 6749 "
                                  "§2.3.1); the form fields `client_id` and `client_secret` "
                                  "are accepted too."},
}
# Operations authenticated by a client rather than a user's token ([{}] first: optional).
CLIENT_SECURITY: dict[tuple[str, str], list[dict[str, list[str]]]] = {
    ("/token", "post"): [{}, {CLIENT_BASIC: []}],
    ("/introspect", "post"): [{CLIENT_BASIC: []}],
    ("/revoke", "post"): [{CLIENT_BASIC: []}],
    ("/revocations/stream", "get"): [{CLIENT_BASIC: []}],
}
# FastAPI's own schemas and the older per-router error models: all are ErrorBody now.
ERROR_ALIASES = frozenset({"ErrorOut", "WeakPasswordOut", "MfaRequiredOut",
                           "HTTPValidationError"})
ERROR_REF = "#/components/schemas/ErrorBody"
WWW_AUTHENTICATE = {"WWW-Authenticate": {
    "description": 'RFC 6750 §3: `Bearer realm="authsvc"` without a token, '
                   '`Bearer error="invalid_token", error_description="..."` for a bad one.',
    "schema": {"type": "string"}}}


def operation_id(route: Any) -> str:
    """Readable operationIds: the route function's name in camelCase (`changePassword`)."""
    name: str = route.name
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "string"}}}
_TEXT = {
    400: "Malformed or invalid request (`invalid_request`, `invalid_grant`, ...).",
    401: "Missing or invalid credentials (`invalid_client`, `invalid_token`, ...).",
    405: "The path does not take this method; `Allow` lists those it takes.",
    403: "Refused (`mfa_required`, `mfa_step_up_required`, `insufficient_role`, ...).",
    404: "Not found.",
    409: "Conflict (`email_taken`).",
    413: "The request body is larger than the configured limit (`request_too_large`).",
    422: "The body is invalid (`invalid_request` with `detail`, `weak_password` with `unmet`).",
    429: "Too many requests or a locked username (`rate_limited`, `temporarily_locked`).",
    503: "A store is unreachable (`temporarily_unavailable`): the service fails closed.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the shared error schema (and Retry-After)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _TEXT.get(status, "Error.")}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        responses[status] = entry
    return responses


OAUTH_STATUSES = (400, 401, 413, 429, 503)
OAUTH_ERRORS = error_responses(*OAUTH_STATUSES)
TOKEN_ERRORS = error_responses(400, 401, 403, 413, 429, 503)
PUBLIC_JSON_ERRORS = error_responses(400, 413, 422, 429, 503)
BEARER_ERRORS = error_responses(400, 401, 403, 413, 422, 429, 503)
REGISTRATION_ERRORS = error_responses(409, 413, 422, 429, 503)


def _error_response(status: int) -> dict[str, Any]:
    """One error response in the document's own terms (for routes outside FastAPI's schema)."""
    entry: dict[str, Any] = {"description": _TEXT.get(status, "Error."), "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    if status in (429, 503):
        entry["headers"] = _RETRY_AFTER
    return entry


def form_body(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    """`openapi_extra=` describing a form body read by `forms.read_form`."""
    return {"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "properties": properties, "required": required,
        }}}}}


_STR = {"type": "string"}
CLIENT_FIELDS = {"client_id": _STR, "client_secret": _STR}
TOKEN_FORM = form_body({
    "grant_type": {"type": "string", "enum": [
        "password", "refresh_token", "client_credentials",
        "urn:authsvc:params:oauth:grant-type:mfa", "authorization_code"]},
    "username": _STR, "password": _STR, "scope": _STR, "refresh_token": _STR,
    "mfa_token": _STR, "method": {"type": "string", "enum": ["totp", "email", "recovery_code"]},
    "code": _STR, "device_token": {"type": "string", "maxLength": 2048},
    "redirect_uri": _STR, "code_verifier": _STR, **CLIENT_FIELDS,
}, ["grant_type"])
INTROSPECT_FORM = form_body({
    "token": _STR, "token_type_hint": {"type": "string",
                                       "enum": ["access_token", "refresh_token"]},
    "client_user_agent": _STR, "client_ip": _STR, **CLIENT_FIELDS,
}, ["token"])
REVOKE_FORM = form_body({
    "token": _STR, "token_type_hint": {"type": "string",
                                       "enum": ["access_token", "refresh_token"]},
    **CLIENT_FIELDS,
}, ["token"])


# Routes answer with `json_response(...)` (a plain Response), which FastAPI documents as a JSON
# string; the document says "a JSON object" instead, and names the bodies that are not JSON.
_NOT_JSON = {
    ("/revoke", "post", "200"): {"description": "Revoked (or unknown: RFC 7009 §2.2)."},
    ("/mfa/totp/qr.png", "get", "200"): {
        "description": "The QR code of the pending TOTP secret.",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
}


def install(app: Any) -> None:
    """Post-process the app's generated OpenAPI document (once, then cached by FastAPI)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema  # type: ignore[no-any-return]
        document = generate()
        _add_introspect(document)
        _one_error_schema(document)
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                _describe(path, method, operation)
        app.openapi_schema = document
        return document

    app.openapi = openapi


def _add_introspect(document: dict[str, Any]) -> None:
    """POST /introspect is a bare ASGI route (kept out of FastAPI for speed): described here."""
    from authsvc.tokens.schemas import IntrospectionOut

    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    model = IntrospectionOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(model.pop("$defs", {}))
    schemas["IntrospectionOut"] = model
    document.setdefault("paths", {}).setdefault("/introspect", {"post": {
        "tags": ["tokens"], "summary": "Token introspection (RFC 7662)",
        "operationId": "introspect",
        "requestBody": INTROSPECT_FORM["requestBody"],
        "responses": {"200": {"description": "`{\"active\": false}` or the token's claims.",
                              "content": {"application/json": {"schema": {
                                  "$ref": "#/components/schemas/IntrospectionOut"}}}},
                      **{str(status): _error_response(status) for status in OAUTH_STATUSES}},
    }})


def _one_error_schema(document: dict[str, Any]) -> None:
    """Every reference to an error model (ours or FastAPI's 422) points at ErrorBody."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in ERROR_ALIASES:
                node["$ref"] = ERROR_REF
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document.get("paths", {}))
    schemas = document.get("components", {}).get("schemas", {})
    for name in (*ERROR_ALIASES, "ValidationError"):
        schemas.pop(name, None)


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if (path, method) in CLIENT_SECURITY:
        operation["security"] = CLIENT_SECURITY[(path, method)]
    secured = [name for need in operation.get("security", []) for name in need]
    if BEARER in secured:
        responses.setdefault("401", _error_response(401))
        responses["401"].setdefault("headers", {}).update(WWW_AUTHENTICATE)
    if CLIENT_BASIC in secured and (path, method) != ("/token", "post"):
        responses.setdefault("401", _error_response(401))
    if BEARER in secured and "admin" in operation.get("tags", ()):
        responses.setdefault("403", _error_response(403))  # insufficient_role
    if secured:  # checking a token or client needs Redis and the database: fails closed
        responses.setdefault("503", _error_response(503))
    if "{" in path:  # a path parameter that names nothing
        responses.setdefault("404", _error_response(404))
    for status in ("429", "503"):  # RFC 6585 §4 / RFC 9110 §10.2.3: how long to wait
        if status in responses:
            responses[status].setdefault("headers", {}).update(_RETRY_AFTER)
    for status, response in list(responses.items()):
        if (path, method, status) in _NOT_JSON:
            responses[status] = _NOT_JSON[(path, method, status)]
            continue
        content = response.get("content", {}).get("application/json")
        if not content or "schema" not in content:
            continue
        schema = content["schema"]
        if "$ref" in schema:  # FastAPI adds `"type": "string"` beside a model's $ref
            content["schema"] = {"$ref": schema["$ref"]}
        elif not status.startswith("2"):
            content["schema"] = {"$ref": ERROR_REF}
