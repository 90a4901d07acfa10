"""Schemathesis against the app's own OpenAPI document: no 5xx on any generated request, and
every response (status, content type, body, headers) as the document describes it.

Bounded for CI: a few examples per operation (AUTHSVC_FUZZ_EXAMPLES, default 12)."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authsvc.main import create_app
from tests import infra

EXAMPLES = int(os.environ.get("AUTHSVC_FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
DOCUMENTED_TAGS = {"tokens", "accounts", "mfa", "recovery", "admin", "operations"}
# POST /logout without a bearer token is the browser's logout (a redirect to /login, followed to
# a 200 page): not the API route's documented answers, so only "no 5xx" is checked there.
SHARED_WITH_PAGES = {"/logout"}


@pytest.fixture(scope="module")
def fuzzed(make_settings: Any) -> tuple[Any, Any]:
    # The rate limits stay on (a 429 is documented), just loose enough to get past them.
    app = create_app(make_settings(rate_limit_token="600/60", rate_limit_register="600/60",
                                   rate_limit_mfa_challenge="600/60"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return app, schema


def _credentials(schema: Any) -> dict[str, str]:
    """A user's bearer token, made through the API."""
    from schemathesis.python import asgi

    app = schema.app
    with asgi.get_client(app) as client:
        email = infra.unique_email("fuzz")
        base = "http://" + asgi.HOST
        created = client.post(f"{base}/users", json={"email": email,
                                                     "password": infra.STRONG_PASSWORD})
        assert created.status_code == 201, created.text
        token = client.post(f"{base}/token", data={"grant_type": "password", "username": email,
                                                   "password": infra.STRONG_PASSWORD})
        assert token.status_code == 200, token.text
        return {"bearer": token.json()["access_token"]}


def test_the_api_holds_to_its_openapi_document(fuzzed: tuple[Any, Any]) -> None:
    app, schema = fuzzed
    bearer = _credentials(schema)["bearer"]
    admin_bearer = _admin_bearer(schema)
    client_header = _make_client(schema)
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert any(op.path == "/token" for op in operations)
    for operation in operations:
        tags = set(operation.definition.raw.get("tags", []))
        documented = tags & DOCUMENTED_TAGS and operation.path not in SHARED_WITH_PAGES
        checks = CHECKS if documented else [not_a_server_error]
        headers: dict[str, str] = {}
        if operation.path in ("/introspect", "/revoke") and client_header:
            headers["Authorization"] = client_header
        elif operation.path.startswith("/admin/"):  # real 200 bodies, checked against models
            headers["Authorization"] = f"Bearer {admin_bearer}"
        elif operation.path not in ("/logout", "/token"):
            headers["Authorization"] = f"Bearer {bearer}"

        run = _runner(operation, headers, checks)
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)


def _runner(operation: Any, headers: dict[str, str], checks: list[Any]) -> Any:
    @given(operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    return run


def _admin_bearer(schema: Any) -> str:
    """An admin's bearer token: a user registered through the API, given the admin role."""
    from schemathesis.python import asgi

    state = schema.app.state.authsvc
    with asgi.get_client(schema.app) as client:
        email = infra.unique_email("fuzz-admin")
        base = "http://" + asgi.HOST
        created = client.post(f"{base}/users", json={"email": email,
                                                     "password": infra.STRONG_PASSWORD})
        assert created.status_code == 201, created.text

        async def promote() -> None:
            from authsvc.db import transaction
            from authsvc.deps import get_identity

            async for session in transaction(state.sessions):
                identity = get_identity(state, session)
                user = await identity.get(created.json()["id"])
                user.roles = ["admin"]
                await identity.changed(user)

        next(iter(asgi._LIFESPANS.values())).portal.call(promote)
        token = client.post(f"{base}/token", data={"grant_type": "password", "username": email,
                                                   "password": infra.STRONG_PASSWORD})
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


def _make_client(schema: Any) -> str:
    """Basic credentials of a new service client (created in the app's own event loop)."""
    from schemathesis.python import asgi

    state = schema.app.state.authsvc

    async def create() -> tuple[str, str]:
        from authsvc.db import transaction

        async for session in transaction(state.sessions):
            issued = await state.clients.create(session, "fuzz")
        return issued.client_id, issued.client_secret

    lifespan = next(iter(asgi._LIFESPANS.values()))
    client_id, secret = lifespan.portal.call(create)
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
