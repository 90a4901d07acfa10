"""TOTP set-up end to end: secret, otpauth URI, QR codes (decoded back), confirmation."""

from __future__ import annotations

import io
import uuid
from urllib.parse import parse_qs, urlparse

from PIL import Image
from pyzbar.pyzbar import ZBarSymbol, decode

from authsvc.identity.models import User
from tests import flows
from tests.mfa.helpers import World, bearer, code_at, enrol_totp


async def test_enrolment_end_to_end(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    setup = await world.api.post("/mfa/totp/setup", headers=bearer(access))
    assert setup.status_code == 200
    assert setup.headers["cache-control"] == "no-store"
    body = setup.json()
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["authsvc"]
    assert user["email"] in uri.path.replace("%40", "@")
    assert body["qr_svg"].startswith("<svg")

    wrong = await world.api.post("/mfa/totp/confirm", headers=bearer(access),
                                 json={"code": code_at(body["secret"], world.clock.t - 120)})
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_code"
    me = (await world.api.get("/users/me", headers=bearer(access))).json()
    assert me["mfa"] == {"totp": False, "email": False, "recovery_codes_left": 0,
                          "passkeys": 0}

    confirm = await world.api.post("/mfa/totp/confirm", headers=bearer(access),
                                   json={"code": code_at(body["secret"], world.clock.t)})
    assert confirm.status_code == 200
    assert confirm.headers["cache-control"] == "no-store"
    codes = confirm.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    me = (await world.api.get("/users/me", headers=bearer(access))).json()
    assert me["mfa"] == {"totp": True, "email": False, "recovery_codes_left": 10,
                         "passkeys": 0}
    assert world.state.audit.counts["mfa_enabled"] == 1


async def test_the_qr_png_decodes_to_the_exact_otpauth_uri(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    uri = (await world.api.post("/mfa/totp/setup", headers=bearer(access))).json()["otpauth_uri"]
    png = await world.api.get("/mfa/totp/qr.png", headers=bearer(access))
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    image = Image.open(io.BytesIO(png.content)).convert("L")
    assert [s.data.decode() for s in decode(image, symbols=[ZBarSymbol.QRCODE])] == [uri]


async def test_the_secret_is_stored_encrypted_and_never_shown_again(world: World) -> None:
    user = await flows.register(world.api)
    secret, _codes, access = await enrol_totp(world, user)
    async with world.state.sessions() as session:
        row = await session.get(User, uuid.UUID(user["id"]))
    assert row is not None and row.totp_secret and secret not in row.totp_secret
    again = await world.api.post("/mfa/totp/setup", headers=bearer(access))
    assert again.status_code in (403, 409)  # the pre-MFA token may not even ask
    qr = await world.api.get("/mfa/totp/qr.png", headers=bearer(access))
    assert qr.status_code == 400
    assert qr.json()["error"] == "mfa_setup_required"


async def test_confirm_without_setup_is_refused(world: World) -> None:
    user = await flows.register(world.api)
    access = (await flows.login(world.api, user))["access_token"]
    response = await world.api.post("/mfa/totp/confirm", headers=bearer(access),
                                    json={"code": "123456"})
    assert response.status_code == 400
    assert response.json()["error"] == "mfa_setup_required"


async def test_password_login_now_answers_mfa_required(world: World) -> None:
    user = await flows.register(world.api)
    await enrol_totp(world, user)
    response = await flows.password_grant(world.api, user["email"], user["password"])
    assert response.status_code == 403
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "mfa_required"
    assert body["error_description"]
    assert body["mfa_methods"] == ["totp", "recovery_code"]
    assert body["mfa_token"].count(".") == 2
    assert "access_token" not in body
