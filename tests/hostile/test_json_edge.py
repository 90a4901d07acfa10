"""The JSON edge (issue 13, items 6 and 8).

- NUL and lone surrogates in any JSON string (key or value) of any JSON endpoint are refused
  with 422 `invalid_request` before anything reaches the database, and nothing changes.
- A body that is not JSON at all is 422 on the JSON endpoints (CONTRACT.md conventions); the
  OAuth form endpoints keep 400 `invalid_request`.
- The database engine never puts statement parameters into an error (hide_parameters), so a
  failed statement's secret hash or e-mail never reaches a log line.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from tests import infra
from tests.admin.conftest import admin  # noqa: F401 - the fixture

NUL = "\\u0000"
SURROGATE = "\\ud800"

PUBLIC = {
    "/users": '{{"email": "{v}x@example.com", "password": "Correct-Horse-7-Battery"}}',
    "/users#name": ('{{"email": "n@example.com", "password": "Correct-Horse-7-Battery", '
                    '"display_name": "a{v}b"}}'),
    "/users#key": '{{"email": "k@example.com", "password": "Correct-Horse-7-Battery", "{v}": 1}}',
    "/password/forgot": '{{"email": "someone{v}@example.com"}}',
    "/password/reset": '{{"token": "t{v}", "new_password": "Correct-Horse-7-Battery"}}',
    "/users/verify-email": '{{"token": "t{v}"}}',
    "/mfa/challenge": '{{"mfa_token": "x{v}", "method": "email"}}',
}
BAD_BODIES = {
    "truncated": b'{"email": "a@example.com", "password": ',
    "not_json": b"{not json",
    "binary": bytes(range(256)),
    "invalid_utf8": b'{"email": "\xc3\x28@example.com"}',
    "deep": b"[" * 30_000 + b"]" * 30_000,
}
JSON_PATHS = ["/users", "/password/forgot", "/password/reset", "/users/verify-email",
              "/mfa/challenge", "/mfa/step-up", "/users/me/password", "/admin/clients"]


def assert_422(response: Any) -> None:
    assert response.status_code == 422, response.text[:300]
    body = response.json()
    assert body["error"] == "invalid_request" and body["error_description"]


async def post_json(api: infra.Api, path: str, body: str | bytes, **headers: str) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    return await api.post(path.split("#")[0], content=raw,
                          headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("value", [NUL, SURROGATE], ids=["nul", "lone_surrogate"])
@pytest.mark.parametrize("path", list(PUBLIC))
async def test_unstorable_strings_are_422_on_public_endpoints(
    api: infra.Api, state: Any, path: str, value: str
) -> None:
    from authsvc.identity.models import User

    async with state.sessions() as session:
        before = len((await session.execute(text("SELECT id FROM users"))).all())
    assert_422(await post_json(api, path, PUBLIC[path].format(v=value)))
    async with state.sessions() as session:
        after = len((await session.execute(text("SELECT id FROM users"))).all())
    assert after == before, User.__tablename__


@pytest.mark.parametrize("value", [NUL, SURROGATE], ids=["nul", "lone_surrogate"])
async def test_unstorable_strings_are_422_for_admins_and_users(
    api: infra.Api, state: Any, admin: dict[str, Any], value: str  # noqa: F811
) -> None:
    async with state.sessions() as session:
        clients = len((await session.execute(text("SELECT client_id FROM clients"))).all())
    assert_422(await post_json(api, "/admin/clients", f'{{"name": "svc{value}"}}',
                               **admin["headers"]))
    assert_422(await post_json(api, "/users/me/password",
                               f'{{"current_password": "x{value}", "new_password": "y"}}',
                               **admin["headers"]))
    async with state.sessions() as session:
        assert len((await session.execute(text("SELECT client_id FROM clients"))).all()) \
            == clients
    # A proper name still works: the guard hands the body on untouched.
    made = await post_json(api, "/admin/clients", '{"name": "svc \\u00e9\\ud83d\\ude00"}',
                           **admin["headers"])
    assert made.status_code == 201, made.text


@pytest.mark.parametrize("name", list(BAD_BODIES))
@pytest.mark.parametrize("path", JSON_PATHS)
async def test_a_body_that_is_not_json_is_422(api: infra.Api, path: str, name: str) -> None:
    assert_422(await post_json(api, path, BAD_BODIES[name]))


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
async def test_oauth_form_endpoints_keep_400(api: infra.Api, path: str) -> None:
    response = await post_json(api, path, BAD_BODIES["not_json"])
    assert response.status_code in (400, 401), response.text  # /introspect: client auth first
    form = await api.post(path, content=b"grant_type=password&username=a%00b&token=a%00b",
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code in (400, 401), form.text
    if form.status_code == 400:
        assert form.json()["error"] == "invalid_request"


async def test_statement_parameters_never_reach_an_error_or_a_log(
    state: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "secret-hash-that-must-not-be-logged"
    async with state.sessions() as session:
        with pytest.raises(Exception) as caught:
            await session.execute(
                text("INSERT INTO clients (client_id, name, secret_hash) VALUES (:a, :b, :c)"),
                {"a": "c_x\x00", "b": "n", "c": marker})
    logging.getLogger("authsvc.errors").exception("unhandled", exc_info=caught.value)
    assert marker not in str(caught.value)
    assert marker not in caplog.text
    assert "hidden due to hide_parameters" in str(caught.value)


async def test_a_full_admin_request_with_a_failing_insert_logs_no_parameter(
    api: infra.Api, state: Any, admin: dict[str, Any], monkeypatch: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Whatever still fails in the database (here: an INSERT made to fail by a NUL that only a
    bug could let through) is a 500 whose log line carries no parameter."""
    from authsvc.clients import service as clients

    caplog.set_level(logging.DEBUG)
    original = clients.ClientService.create

    async def buggy(self: Any, session: Any, spec: Any, *args: Any, **kwargs: Any) -> Any:
        import dataclasses

        # create takes a ClientSpec since issue 16 (or a bare name)
        spec = (spec + "\x00" if isinstance(spec, str)
                else dataclasses.replace(spec, name=spec.name + "\x00"))
        return await original(self, session, spec, *args, **kwargs)

    monkeypatch.setattr(clients.ClientService, "create", buggy)
    response = await post_json(api, "/admin/clients", '{"name": "svc"}', **admin["headers"])
    assert response.status_code >= 500
    assert "Traceback" not in response.text
    logged = caplog.text
    assert "unhandled error on /admin/clients" in logged  # the failure itself is logged
    assert "[parameters:" not in logged and "svc\\x00" not in logged
    assert "hidden due to hide_parameters" in logged
