"""The README's two examples, run as written (only the address and credentials swapped for a
real replica's and a real service client's): each is at most ten lines and works."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import Server
from tests.sdk.conftest import bearer

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "sdk" / "python" / "README.md"


def example(title: str, base: str, client: tuple[str, str]) -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1)
    assert len([line for line in source.splitlines() if line.strip()]) <= 10
    source = (source.replace("http://authsvc:8000", base)
              .replace('"c_0123"', repr(client[0])).replace('"secret"', repr(client[1])))
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(source, f"README {title}", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


async def test_the_fastapi_example(replicas: tuple[Server, Server], user: dict[str, Any],
                                   service_client: tuple[str, str]) -> None:
    found = example("FastAPI", replicas[0].url, service_client)
    transport = httpx.ASGITransport(app=found["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        ok = await http.get("/me", headers=bearer(user["tokens"]["access_token"]))
        refused = await http.get("/me")
    await found["authsvc"].aclose()
    assert ok.status_code == 200 and ok.json() == {"sub": user["id"]}
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


async def test_the_flask_example(replicas: tuple[Server, Server], user: dict[str, Any],
                                 service_client: tuple[str, str]) -> None:
    found = example("Flask", replicas[1].url, service_client)
    http = found["app"].test_client()
    ok = http.get("/me", headers=bearer(user["tokens"]["access_token"]))
    refused = http.get("/me")
    found["authsvc"].close()
    assert ok.status_code == 200 and ok.get_json() == {"sub": user["id"]}
    assert refused.status_code == 401
