"""The breach checks on their own: the range API client against a local server speaking the
range API format (tests/range_server.py), and the offline file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from authsvc.security.breached import (
    BreachCheckUnavailable,
    BreachedPasswords,
    BreachFile,
    BreachFileInvalid,
    RangeApi,
)
from tests.range_server import RangeServer, sha1_hex

BREACHED = "Summer-Breach-2024!"
CLEAN = "Quiet-Harbour-Lantern-93"


@pytest.fixture
def server() -> Iterator[RangeServer]:
    running = RangeServer([BREACHED])
    running.start()
    try:
        yield running
    finally:
        running.stop()


def checker(server: RangeServer, *, fail_closed: bool = False, timeout: float = 1.0,
            file: BreachFile | None = None) -> BreachedPasswords:
    return BreachedPasswords(api=RangeApi(server.url, timeout=timeout), file=file,
                             fail_closed=fail_closed)


async def test_a_breached_password_is_found_from_a_five_character_prefix(
    server: RangeServer,
) -> None:
    check = checker(server)
    assert await check.is_breached(BREACHED, new=True) is True
    assert await check.is_breached(CLEAN, new=True) is False
    await check.aclose()
    first, second = server.requests
    assert first["path"] == f"/range/{sha1_hex(BREACHED)[:5]}"
    assert second["path"] == f"/range/{sha1_hex(CLEAN)[:5]}"
    for request in server.requests:
        assert request["headers"].get("Add-Padding") == "true"
        sent = request["path"] + str(request["headers"])
        assert sha1_hex(BREACHED)[5:] not in sent and BREACHED not in sent


async def test_a_padding_line_of_count_zero_is_not_a_breach(server: RangeServer) -> None:
    server.add(CLEAN, count=0)  # what Add-Padding's decoys look like
    check = checker(server)
    assert await check.is_breached(CLEAN, new=True) is False
    await check.aclose()


async def test_a_slow_api_fails_open_by_default_within_the_timeout(server: RangeServer) -> None:
    server.delay = 3
    check = checker(server, timeout=0.3)
    started = time.monotonic()
    assert await check.is_breached(BREACHED, new=True) is False
    assert time.monotonic() - started < 2
    await check.aclose()


async def test_a_slow_api_fails_closed_for_new_passwords_when_configured(
    server: RangeServer,
) -> None:
    server.delay = 3
    check = checker(server, timeout=0.3, fail_closed=True)
    with pytest.raises(BreachCheckUnavailable):
        await check.is_breached(BREACHED, new=True)
    # A login is never refused because the API is down: only new passwords fail closed.
    assert await check.is_breached(BREACHED, new=False) is False
    await check.aclose()


@pytest.mark.parametrize("status", [500, 503, 429, 404])
async def test_an_error_answer_counts_as_unavailable(server: RangeServer, status: int) -> None:
    server.status = status
    check = checker(server, fail_closed=True)
    with pytest.raises(BreachCheckUnavailable):
        await check.is_breached(BREACHED, new=True)
    await check.aclose()


async def test_an_unreachable_api_counts_as_unavailable() -> None:
    stopped = RangeServer()
    stopped.start()
    url = stopped.url
    stopped.stop()
    check = BreachedPasswords(api=RangeApi(url, timeout=0.5), fail_closed=True)
    with pytest.raises(BreachCheckUnavailable):
        await check.is_breached(BREACHED, new=True)
    await check.aclose()


async def test_the_file_is_checked_before_the_api(server: RangeServer) -> None:
    listed = "Only-In-The-File-77!"
    check = checker(server, file=BreachFile.from_lines([sha1_hex(listed)]))
    assert await check.is_breached(listed, new=True) is True
    assert server.requests == []
    await check.aclose()


# ------------------------------------------------------------------------- the file


def test_file_reads_bare_digests_and_the_downloaders_sha1_count_lines(tmp_path: Path) -> None:
    words = [f"password-{n}" for n in range(500)]
    lines = [f"{sha1_hex(w)}:{n + 1}" if n % 2 else sha1_hex(w).lower()
             for n, w in enumerate(words)]
    path = tmp_path / "pwned.txt"
    path.write_text("\n".join(reversed(lines)) + "\n\n", encoding="ascii")  # unsorted too
    listed = BreachFile.load(path)
    assert len(listed) == 500
    assert all(w in listed for w in words)
    assert "password-500" not in listed and "" not in listed
    assert len(listed._view._data) == 500 * 20  # one 20-byte digest an entry, nothing more


@pytest.mark.parametrize("bad", ["not-hex", "ABCDEF", f"{'A' * 40}0", "zz" * 20])
def test_a_bad_line_is_refused_with_its_number(bad: str) -> None:
    with pytest.raises(BreachFileInvalid, match="line 2"):
        BreachFile.from_lines([sha1_hex("x"), bad])


def test_an_empty_checker_checks_nothing() -> None:
    assert not BreachedPasswords().enabled
