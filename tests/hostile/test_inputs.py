"""Hostile input in every field of every endpoint: each gets a 4xx in the contract's error shape
`{"error", "error_description"}` — never a 5xx, never a stack trace."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio

from tests import flows, infra

MFA_GRANT = "urn:authsvc:params:oauth:grant-type:mfa"

# Raw (already percent-encoded) form values.
FORM_VALUES = {
    "empty": "",
    "long": "a" * 20_000,
    "binary": "%FF%FE%80%00%C3",
    "invalid_utf8": "%C3%28",
    "nul": "abc%00def",
    "control": "%01%02%1B%7F",
    "unicode": quote("ℌ𝔢𝔩𝔩𝔬\u202e\ufeff👩‍💻"),
    "crlf": "a%0D%0Ab",
    "jwt_like": "a.b.c",
    "jwt_garbage": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "number": "1e309",
}

FORM_ENDPOINTS: dict[str, dict[str, str]] = {
    "/token#password": {"grant_type": "password", "username": "someone@example.com",
                        "password": "x", "scope": "openid", "client_id": "c_x"},
    "/token#refresh": {"grant_type": "refresh_token", "refresh_token": "x.y.z"},
    "/token#client": {"grant_type": "client_credentials", "client_id": "c_x",
                      "client_secret": "s"},
    "/token#mfa": {"grant_type": MFA_GRANT, "mfa_token": "x.y.z", "method": "totp",
                   "code": "123456"},
    "/introspect": {"token": "x.y.z", "token_type_hint": "access_token",
                    "client_user_agent": "ua", "client_ip": "127.0.0.1"},
    "/revoke": {"token": "x.y.z", "token_type_hint": "refresh_token"},
}
FORM_CASES = [(endpoint, field, name) for endpoint, fields in FORM_ENDPOINTS.items()
              for field in [*fields, "grant_type"] for name in FORM_VALUES]

# Raw JSON values (text) for JSON fields.
JSON_VALUES = {
    "empty": '""',
    "long": json.dumps("a" * 20_000),
    "nul": '"abc\\u0000def"',
    "lone_surrogate": '"\\ud800"',
    "unicode": json.dumps("ℌ𝔢𝔩𝔩𝔬\u202e\ufeff👩‍💻"),
    "crlf": '"a\\r\\nb"',
    "null": "null",
    "true": "true",
    "int": "42",
    "huge_int": "9" * 5000,
    "float_overflow": "1e309",
    "negative": "-1",
    "list": '["a", "b"]',
    "object": '{"$gt": ""}',
    "nested": "[" * 5000 + "]" * 5000,
}
JSON_ENDPOINTS: dict[str, tuple[bool, dict[str, str]]] = {
    "/users": (False, {"email": '"x@example.com"', "password": '"Correct-Horse-7-Battery"',
                       "display_name": '"X"'}),
    "/users/me/password": (True, {"current_password": '"a"', "new_password": '"b"'}),
    "/mfa/challenge": (False, {"mfa_token": '"x.y.z"', "method": '"email"'}),
    "/mfa/totp/confirm": (True, {"code": '"123456"'}),
    "/mfa/email/confirm": (True, {"code": '"123456"'}),
    "/mfa/step-up": (True, {"method": '"totp"', "code": '"123456"'}),
}
JSON_CASES = [(endpoint, field, name) for endpoint, (_, fields) in JSON_ENDPOINTS.items()
              for field in fields for name in JSON_VALUES]

WHOLE_BODIES = {
    "not_json": b"{not json",
    "array": b"[]",
    "string": b'"x"',
    "number": b"1e309",
    "huge": b"9" * 5000,
    "nested_objects": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "nested_arrays": b"[" * 100_00 + b"]" * 100_00,
    "binary": bytes(range(256)),
    "duplicate_keys": b'{"email": "a@example.com", "email": "b@example.com", "password": "x"}',
    "empty": b"",
}


def assert_contract_error(response: Any, *, allowed: tuple[int, ...] = ()) -> None:
    """A 4xx in the contract's shape (or one of the `allowed` successes: a hostile value in a
    field the request does not need may be harmless)."""
    assert response.status_code < 500, response.text[:300]
    if response.status_code in allowed:
        return
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("error_description"), str), body
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()


@pytest_asyncio.fixture
async def session_user(api: infra.Api) -> dict[str, Any]:
    user = await flows.register(api)
    tokens = await flows.login(api, user)
    return {**user, **tokens}


@pytest.mark.parametrize(("endpoint", "field", "value"), FORM_CASES)
async def test_hostile_form_values(
    endpoint: str, field: str, value: str, app: Any, service_client: tuple[str, str], clock: Any
) -> None:
    path = endpoint.split("#")[0]
    form = {**FORM_ENDPOINTS[endpoint], field: "__HOSTILE__"}
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in form.items())
    body = body.replace("__HOSTILE__", FORM_VALUES[value])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if path != "/token" or "client" in endpoint:
        headers.update(flows.basic(*service_client))
    async with infra.Api(app) as api:
        response = await api.post(path, content=body.encode(), headers=headers)
    assert_contract_error(response, allowed=(200,))
    if path == "/introspect" and response.status_code == 200:
        assert response.json() == {"active": False}


@pytest.mark.parametrize(("endpoint", "field", "value"), JSON_CASES)
async def test_hostile_json_values(
    endpoint: str, field: str, value: str, app: Any, session_user: dict[str, Any], clock: Any
) -> None:
    bearer, fields = JSON_ENDPOINTS[endpoint]
    fields = {**fields, field: JSON_VALUES[value]}
    body = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    headers = {"Content-Type": "application/json"}
    if bearer:
        headers["Authorization"] = f"Bearer {session_user['access_token']}"
    async with infra.Api(app) as api:
        response = await api.post(endpoint, content=body.encode(), headers=headers)
    assert_contract_error(response, allowed=(201,) if endpoint == "/users" else ())


@pytest.mark.parametrize("endpoint", list(JSON_ENDPOINTS))
@pytest.mark.parametrize("body", list(WHOLE_BODIES))
async def test_hostile_json_bodies(
    endpoint: str, body: str, app: Any, session_user: dict[str, Any], clock: Any
) -> None:
    headers = {"Content-Type": "application/json"}
    if JSON_ENDPOINTS[endpoint][0]:
        headers["Authorization"] = f"Bearer {session_user['access_token']}"
    async with infra.Api(app) as api:
        response = await api.post(endpoint, content=WHOLE_BODIES[body], headers=headers)
    assert_contract_error(response)


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
@pytest.mark.parametrize("body", list(WHOLE_BODIES))
async def test_hostile_form_bodies(path: str, body: str, app: Any,
                                   service_client: tuple[str, str]) -> None:
    async with infra.Api(app) as api:
        for content_type in ("application/x-www-form-urlencoded", "application/json",
                             "multipart/form-data; boundary=x", "text/plain"):
            response = await api.post(path, content=WHOLE_BODIES[body], headers={
                "Content-Type": content_type, **flows.basic(*service_client)})
            assert_contract_error(response)
