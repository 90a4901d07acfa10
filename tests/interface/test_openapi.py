"""The OpenAPI document says only what is so: a valid document, security schemes on each
operation, a model for every 2xx JSON body, ONE error schema, 401/403/429 where they occur,
readable operationIds; and live answers without credentials agree with the security it claims."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.infra import Api

RATE_LIMITED = {("/token", "post"), ("/users", "post"), ("/mfa/challenge", "post"),
                ("/password/forgot", "post"), ("/introspect", "post"), ("/revoke", "post"),
                ("/users/me/verify-email/resend", "post")}
CLIENT_AUTHENTICATED = {("/introspect", "post"), ("/revoke", "post"),
                        ("/revocations/stream", "get")}


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items()
            for method, op in ops.items()]


async def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


async def test_operation_ids_are_readable_and_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(document)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation_id), operation_id


async def test_operation_ids_name_what_the_operation_does(document: dict[str, Any]) -> None:
    """Published ids are an interface (generated clients name their methods after them): a
    refactor of the Python names must not rename them."""
    ids = {(path, method): op["operationId"] for path, method, op in operations(document)}
    assert ids[("/admin/clients/{client_id}", "get")] == "getClient"
    assert ids[("/users/me", "get")] == "me"
    assert ids[("/users/me/password", "post")] == "changePassword"


async def test_every_2xx_json_body_has_a_model(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            content = response.get("content", {})
            if not status.startswith("2") or "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            if schema.get("type") == "array":  # a list of models
                schema = schema["items"]
            assert set(schema) == {"$ref"}, (method, path, status, schema)
            model = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            assert model["type"] == "object" and model["properties"], (method, path)
            assert model.get("required"), (method, path, "a model with no required member")


async def test_the_202_bodies_are_satisfiable(document: dict[str, Any]) -> None:
    for path in ("/password/forgot", "/users/me/verify-email/resend"):
        schema = document["paths"][path]["post"]["responses"]["202"]["content"][
            "application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Accepted"}  # no `"type": "string"`


async def test_one_error_schema(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    assert not {"ErrorOut", "HTTPValidationError", "ValidationError", "WeakPasswordOut",
                "MfaRequiredOut"} & names
    for path, method, op in operations(document):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                continue
            for media in response.get("content", {}).values():
                if path == "/health/ready":
                    continue  # its 503 is the readiness body
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
                    method, path, status)


async def test_security_schemes_are_declared_per_operation(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["clientBasic"] == {**schemes["clientBasic"], "type": "http",
                                      "scheme": "basic"}
    by_op = {(path, method): op for path, method, op in operations(document)}
    for key in CLIENT_AUTHENTICATED:
        assert by_op[key]["security"] == [{"clientBasic": []}]
    assert {} in by_op[("/token", "post")]["security"]  # client authentication is optional
    for key in (("/users/me", "get"), ("/admin/users", "get"), ("/mfa/step-up", "post"),
                ("/logout", "post"), ("/users/me/verify-email/resend", "post")):
        assert by_op[key]["security"] == [{"bearer": []}], key
    for key in (("/users", "post"), ("/password/forgot", "post"), ("/health/live", "get")):
        assert "security" not in by_op[key], key


async def test_401_403_429_are_documented_where_they_occur(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        responses = op["responses"]
        secured = [name for need in op.get("security", []) for name in need]
        if "bearer" in secured:
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)
        if secured:
            assert "401" in responses, (method, path)
        if path.startswith("/admin/"):
            assert "403" in responses, (method, path)
        if (path, method) in RATE_LIMITED:
            assert "Retry-After" in responses["429"]["headers"], (method, path)


async def test_operations_that_claim_bearer_refuse_a_request_without_one(
        api: Api, document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        if op.get("security") != [{"bearer": []}]:
            continue
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        response = await api.request(method.upper(), concrete, json={},
                                     headers={"Accept": "application/json"})
        if path == "/logout":
            continue  # without a token it is the pages' logout (a redirect)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == 'Bearer realm="authsvc"'
