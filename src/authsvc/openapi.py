"""What the OpenAPI document says about errors and form bodies, in one place.

Every error leaves as `{"error", "error_description", ...}` (the contract); `error_responses(...)`
documents the statuses a route can answer with, and `form_body(...)` describes the
`application/x-www-form-urlencoded` bodies that the OAuth endpoints read themselves.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    """The contract's error shape; some errors add fields (`mfa_token`, `unmet`, `detail`...)."""

    model_config = ConfigDict(extra="allow")

    error: str
    error_description: str


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "string"}}}
_TEXT = {
    400: "Malformed or invalid request (`invalid_request`, `invalid_grant`, ...).",
    401: "Missing or invalid credentials (`invalid_client`, `invalid_token`, ...).",
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
    "code": _STR, "redirect_uri": _STR, "code_verifier": _STR, **CLIENT_FIELDS,
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
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema  # type: ignore[no-any-return]
        document = generate()
        # POST /introspect is a plain Starlette route (kept out of FastAPI's schema for speed):
        # describe it here, like the other OAuth endpoints.
        document.setdefault("paths", {}).setdefault("/introspect", {"post": {
            "tags": ["tokens"], "summary": "Token introspection (RFC 7662)",
            "operationId": "introspect",
            "requestBody": INTROSPECT_FORM["requestBody"],
            "responses": {"200": {"description": "`{\"active\": false}` or the token's claims.",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["active"]}}}},
                          **{str(status): _error_response(status) for status in OAUTH_STATUSES}},
        }})
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                for status, response in operation.get("responses", {}).items():
                    if (path, method, status) in _NOT_JSON:
                        operation["responses"][status] = _NOT_JSON[(path, method, status)]
                        continue
                    content = response.get("content", {}).get("application/json")
                    if status.startswith("2") and content and content.get("schema") == {
                            "type": "string"}:
                        content["schema"] = {"type": "object"}
        app.openapi_schema = document
        return document

    app.openapi = openapi
