"""Reading `application/x-www-form-urlencoded` bodies for the OAuth endpoints (RFC 6749).

Parameters sent more than once are refused (RFC 6749 §3.2), as are values with NUL bytes and
bodies of another media type.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from authsvc.errors import AuthError, InvalidRequest

MAX_FIELDS = 32


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        raise InvalidRequest("The body must be application/x-www-form-urlencoded.")
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("The form body is malformed.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise InvalidRequest(f"The parameter {key!r} was sent more than once.")
        if "\x00" in key or "\x00" in value:
            raise InvalidRequest("Parameters must not contain NUL bytes.")
        form[key] = value
    return form


def require(form: dict[str, str], *names: str) -> list[str]:
    values = []
    for name in names:
        value = form.get(name)
        if not value:
            raise InvalidRequest(f"The parameter {name!r} is required.")
        values.append(value)
    return values


def too_large() -> AuthError:
    return AuthError("The request body is too large.", code="request_too_large", status=413)
