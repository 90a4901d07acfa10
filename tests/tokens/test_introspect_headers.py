"""Issue 12 item 10: /introspect, served before the middleware stack (main.App's hot path),
answers with the same security headers as every other response: success, each refusal, the
oversized body, over HTTP and HTTPS."""

from __future__ import annotations

from typing import Any

import httpx

from tests import flows
from tests.infra import Api

SECURITY = ("x-content-type-options", "strict-transport-security")


def security_of(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SECURITY}


async def answers(app: Any, base_url: str, client: tuple[str, str],
                  token: str) -> dict[str, httpx.Response]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url,
                                 headers={"User-Agent": "pytest-agent/1.0"}) as http:
        auth = flows.basic(*client)
        return {
            "active": await http.post("/introspect", data={"token": token}, headers=auth),
            "inactive": await http.post("/introspect", data={"token": "junk"}, headers=auth),
            "no client": await http.post("/introspect", data={"token": token}),
            "no token": await http.post("/introspect", data={}, headers=auth),
            "too large": await http.post("/introspect", content=b"token=" + b"a" * 70_000,
                                         headers={**auth, "Content-Type":
                                                  "application/x-www-form-urlencoded"}),
            "reference": await http.post("/token", data={"grant_type": "nope"}),
        }


async def test_introspect_answers_carry_the_security_headers(
        app: Any, api: Api, service_client: tuple[str, str]) -> None:
    user = await flows.register(api)
    token = (await flows.login(api, user))["access_token"]
    for base_url, hsts in (("http://testserver", False), ("https://testserver", True)):
        got = await answers(app, base_url, service_client, token)
        assert got["active"].json()["active"] is True
        assert [got[k].status_code for k in ("inactive", "no client", "no token", "too large")
                ] == [200, 401, 400, 413]
        reference = security_of(got["reference"])
        assert reference["x-content-type-options"] == "nosniff"
        assert (reference["strict-transport-security"] is not None) is hsts
        for name, response in got.items():
            assert security_of(response) == reference, (base_url, name)
            # Appended once: no header twice.
            assert len(response.headers.get_list("x-content-type-options")) == 1, name
