"""`safe_next`: only same-origin paths and allow-listed origins survive; all else → default."""

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authsvc.security.redirects import MAX_NEXT_LENGTH, safe_next

ALLOWED = ["app.example.com", "Bücher.example", "localhost", "127.0.0.1"]
DEFAULT = "/account"

ACCEPTED = [
    "/",
    "/account",
    "/account/sessions?tab=security",
    "/docs#section-2",
    "/search?q=a+b",
    "/path/with/./dots/../ok",
    "/callback?next=//evil.example",  # a `//` in the query stays on this origin
    "/caf%C3%A9",
    "https://app.example.com",
    "https://app.example.com/",
    "https://app.example.com/dashboard?x=1#top",
    "https://APP.Example.COM/x",
    "HTTPS://app.example.com/x",
    "https://app.example.com:8443/x",
    "https://xn--bcher-kva.example/",
    "https://bücher.example/",
    "http://localhost:3000/after-login",
    "http://127.0.0.1:8080/",
    "https://localhost/",
]

REFUSED = [
    # scheme-relative and backslash forms
    "//evil.example",
    "//evil.example/account",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/account\\..\\..\\evil",
    # scheme tricks
    "https:evil.example",
    "https:/evil.example",
    "https:///evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "javascript://app.example.com/%0aalert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://app.example.com/",
    "mailto:a@app.example.com",
    # not on the allow-list, or look-alike hosts
    "https://evil.example",
    "https://app.example.com.evil.example/",
    "https://evilapp.example.com/",
    "https://app.example.com.",
    "https://app-example.com/",
    "http://app.example.com/",  # plain http only for loopback
    "https://app.example.com:notaport/",
    "https://app.example.com:99999/",
    "https://[::1]/",
    # userinfo tricks
    "https://app.example.com@evil.example",
    "https://app.example.com:443@evil.example/",
    "https://user:pass@app.example.com/",
    "https://evil.example@app.example.com/",
    "https://app.example.com%40evil.example/",
    "https://app.example.com%2F@evil.example/",
    "https://app.example.com%2eevil.example/",
    "https://evil.example#@app.example.com",
    "https://evil.example?@app.example.com",
    "https://evil.example\\@app.example.com",
    # whitespace and control characters
    "/ /evil.example",
    " /account",
    "/account ",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "/account\x00",
    "/\x0b/evil.example",
    "/\u00a0/evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "/\u202e/evil.example",
    "/\ufeff/evil.example",
    "https://app.example.com\t.evil.example/",
    # percent-encoded slashes, backslashes and controls, once or many times
    "/%2F%2Fevil.example",
    "/%2f%2fevil.example",
    "%2F%2Fevil.example",
    "%2f%5cevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%2525252F%2525252Fevil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%00",
    "/%20/evil.example",
    "/search?q=a%20b",  # strict: encoded whitespace is refused anywhere
    "/%E2%88%95evil.example",
    "/%EF%BC%8F%EF%BC%8Fevil.example",
    "/%ff",  # not UTF-8
    # Unicode look-alike slashes and backslashes
    "/\u2215evil.example",
    "\u2215\u2215evil.example",
    "/\u2044evil.example",
    "/\uff0fevil.example",
    "\uff0f\uff0fevil.example",
    "/\u29f8evil.example",
    "/\uff3cevil.example",
    "/\ufe68evil.example",
    "/\u2216evil.example",
    "https://app.example.com\uff0f@evil.example",
    "/\u2100",  # ℀ is "a/c" under NFKC
    "https://app\uff0eexample.com/",
    # relative references that are not rooted paths
    "evil.example",
    "account",
    "./account",
    "../account",
    "?next=/x",
    "#frag",
    "",
    # length
    "/" + "a" * MAX_NEXT_LENGTH,
    "https://app.example.com/" + "a" * MAX_NEXT_LENGTH,
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_safe_targets_are_kept(value: str) -> None:
    assert safe_next(value, ALLOWED) == value


@pytest.mark.parametrize("value", REFUSED)
def test_unsafe_targets_fall_back_to_the_default(value: str) -> None:
    assert safe_next(value, ALLOWED) == DEFAULT


@pytest.mark.parametrize("value", [None, 42, b"/account", ["/account"]])
def test_non_strings_fall_back_to_the_default(value: object) -> None:
    assert safe_next(value, ALLOWED) == DEFAULT  # type: ignore[arg-type]


def test_the_default_is_configurable() -> None:
    assert safe_next("//evil.example", ALLOWED, default="/") == "/"


def test_an_empty_allow_list_allows_only_paths() -> None:
    assert safe_next("https://app.example.com/", []) == DEFAULT
    assert safe_next("http://localhost/", []) == DEFAULT
    assert safe_next("/ok", []) == "/ok"


def test_allow_list_entries_are_normalized() -> None:
    url = "https://app.example.com/"
    assert safe_next(url, [" APP.example.com "]) == url
    assert safe_next("https://xn--bcher-kva.example/", ["bücher.example"]) == (
        "https://xn--bcher-kva.example/"
    )


def test_the_longest_allowed_value_passes() -> None:
    value = "/" + "a" * (MAX_NEXT_LENGTH - 1)
    assert safe_next(value, ALLOWED) == value


def _is_safe(result: str) -> bool:
    if result == DEFAULT:
        return True
    if result.startswith("/"):
        return not result.startswith("//") and "\\" not in result
    parts = urlsplit(result)
    host = (parts.hostname or "").encode("idna").decode().lower()
    allowed = {h.encode("idna").decode().lower() for h in ALLOWED}
    return (
        parts.scheme.lower() in ("https", "http")
        and "@" not in parts.netloc
        and host in allowed
        and (parts.scheme.lower() == "https" or host in ("localhost", "127.0.0.1"))
    )


_FRAGMENTS = st.sampled_from(
    [
        "/", "//", "\\", "%2F", "%2f", "%5C", "%25", "%252F", ":", "@", "#", "?", ".", " ", "\t",
        "\n", "\x00", "https:", "http:", "https://", "javascript:", "data:", "evil.example",
        "app.example.com", "localhost", "\u2215", "\u2044", "\uff0f", "\u29f8", "\uff3c", "\u3002",
        "\u200b", "a", "account",
    ]
)


@settings(max_examples=600, deadline=None)  # correctness, not speed: no flaky timing
@given(st.lists(_FRAGMENTS, max_size=8).map("".join))
def test_built_payloads_are_always_safe(value: str) -> None:
    assert _is_safe(safe_next(value, ALLOWED))


@settings(max_examples=600, deadline=None)  # correctness, not speed: no flaky timing
@given(st.text(max_size=80))
def test_arbitrary_text_is_always_safe(value: str) -> None:
    assert _is_safe(safe_next(value, ALLOWED))


@settings(deadline=None)
@given(st.from_regex(r"\A/[A-Za-z0-9_\-./?=&]{0,40}\Z"))
def test_plain_rooted_paths_are_kept(value: str) -> None:
    expected = value if not value.startswith("//") else DEFAULT
    assert safe_next(value, ALLOWED) == expected
