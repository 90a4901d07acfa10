"""TOTP (RFC 6238): codes checked against pyotp computed independently from the test's own clock."""

import base64
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest

from authsvc.security import totp

NOW = 1_700_000_012.5  # an arbitrary fixed clock, mid-step
WINDOW = 1


def code_at(secret: str, unix_time: float) -> str:
    """The reference code, computed by pyotp alone from a UTC datetime."""
    return pyotp.TOTP(secret).at(datetime.fromtimestamp(unix_time, tz=UTC))


@pytest.fixture
def secret() -> str:
    return totp.new_secret()


def test_new_secret_is_160_bit_base32() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert totp.new_secret() != secret


def test_current_step_is_unix_time_over_30() -> None:
    assert totp.current_step(59) == 1
    assert totp.current_step(60) == 2
    assert totp.current_step(NOW) == int(NOW) // 30


def test_rfc6238_sha1_vectors_last_six_digits() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 Appendix B, SHA-1: 94287082 at T=59, 07081804 at T=1111111109.
    assert totp.match_step(secret, "287082", at=59, window=0) == 1
    assert totp.match_step(secret, "081804", at=1111111109, window=0) == 1111111109 // 30


def test_current_code_matches_current_step(secret: str) -> None:
    code = code_at(secret, NOW)
    assert totp.match_step(secret, code, at=NOW, window=WINDOW) == totp.current_step(NOW)


@pytest.mark.parametrize("offset", [-1, 1])
def test_adjacent_step_is_accepted(secret: str, offset: int) -> None:
    code = code_at(secret, NOW + offset * 30)
    if code == code_at(secret, NOW):
        pytest.skip("adjacent codes coincide (one in a million)")
    assert totp.match_step(secret, code, at=NOW, window=WINDOW) == totp.current_step(NOW) + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_step_two_away_is_refused(secret: str, offset: int) -> None:
    code = code_at(secret, NOW + offset * 30)
    if code in {code_at(secret, NOW + d * 30) for d in (-1, 0, 1)}:
        pytest.skip("codes coincide (one in a million)")
    assert totp.match_step(secret, code, at=NOW, window=WINDOW) is None


def test_window_zero_accepts_only_current_step(secret: str) -> None:
    previous = code_at(secret, NOW - 30)
    if previous == code_at(secret, NOW):
        pytest.skip("codes coincide")
    assert totp.match_step(secret, previous, at=NOW, window=0) is None


def test_wrong_code_is_refused(secret: str) -> None:
    valid = {code_at(secret, NOW + d * 30) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    assert totp.match_step(secret, wrong, at=NOW, window=WINDOW) is None


def test_code_for_another_secret_is_refused(secret: str) -> None:
    other = totp.new_secret()
    code = code_at(other, NOW)
    if code in {code_at(secret, NOW + d * 30) for d in (-1, 0, 1)}:
        pytest.skip("codes coincide")
    assert totp.match_step(secret, code, at=NOW, window=WINDOW) is None


@pytest.mark.parametrize(
    "transform",
    [
        lambda c: c[:5],  # 5 digits
        lambda c: c + "0",  # 7 digits
        lambda c: c[:3] + "a" + c[4:],  # a letter
        lambda c: c[:3] + " " + c[3:],  # inner space
        lambda c: f" {c}",  # leading space
        lambda c: f"{c}\n",  # trailing newline
        lambda c: c.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
        lambda c: c.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # fullwidth
        lambda c: "",
    ],
)
def test_malformed_code_is_refused(secret: str, transform) -> None:
    code = transform(code_at(secret, NOW))
    assert totp.match_step(secret, code, at=NOW, window=WINDOW) is None


def test_unicode_digits_are_refused() -> None:
    assert totp.match_step(totp.new_secret(), "١٢٣٤٥٦", at=NOW, window=WINDOW) is None


def test_negative_window_is_an_error(secret: str) -> None:
    with pytest.raises(ValueError):
        totp.match_step(secret, "123456", at=NOW, window=-1)


def test_provisioning_uri_carries_issuer_account_and_secret(secret: str) -> None:
    uri = totp.provisioning_uri(secret, "alice@example.com", "Example Corp")
    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    assert unquote(parsed.path) == "/Example Corp:alice@example.com"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Example Corp"]
    # The app will compute the same codes from the URI alone.
    assert pyotp.parse_uri(uri).at(NOW) == code_at(secret, NOW)


def test_qr_png_decodes_to_the_exact_uri(secret: str) -> None:
    from PIL import Image
    from pyzbar.pyzbar import ZBarSymbol, decode

    uri = totp.provisioning_uri(secret, "alice@example.com", "Example Corp")
    png = totp.qr_png(uri)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    symbols = decode(image.convert("L"), symbols=[ZBarSymbol.QRCODE])
    assert [s.data.decode() for s in symbols] == [uri]


def test_qr_svg_is_xml_without_declaration(secret: str) -> None:
    uri = totp.provisioning_uri(secret, "alice@example.com", "Example Corp")
    svg = totp.qr_svg(uri)
    assert not svg.startswith("<?xml")
    root = ET.fromstring(svg)  # noqa: S314 - parsing our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
