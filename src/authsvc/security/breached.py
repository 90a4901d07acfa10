"""Breached passwords: a k-anonymity range API (Have I Been Pwned's, or a mirror) and an
operator's offline list of SHA-1 digests.

The range API (https://haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange) never sees the
password or its hash: we send the first 5 hex characters of the SHA-1 and get every suffix
under that prefix as `SUFFIX:COUNT` lines. `Add-Padding: true` pads each answer with decoy
suffixes of count 0, so the response size does not narrow the prefix down either.

The offline file holds one SHA-1 per line, bare or as `SHA1:COUNT` (the format of HIBP's
PwnedPasswordsDownloader). It is kept as ONE sorted `bytes` of 20-byte digests and searched
with `bisect`: 20 bytes an entry, where a Python set of `bytes` costs about 90 (object header,
hash slot, load factor), so ten million entries need 200 MB rather than 900 MB; a lookup is
24 comparisons. The downloader writes its output sorted, which the loader notices (no sort).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

import httpx

__all__ = ["BreachCheckUnavailable", "BreachFile", "BreachedPasswords", "RangeApi", "sha1_hex"]

log = logging.getLogger("authsvc.passwords")

DIGEST_BYTES = 20
PREFIX_CHARS = 5


class BreachCheckUnavailable(Exception):
    """The range API did not answer in time or answered nonsense."""


class BreachFileInvalid(ValueError):
    """A line of the offline file is not a SHA-1 digest (the message names the line)."""


def sha1_hex(password: str) -> str:
    """SHA-1 of the UTF-8 password, upper-case hex, as HIBP indexes them (not for storage)."""
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


class RangeApi:
    """`GET {base_url}/range/{prefix}` with `Add-Padding: true`; a short timeout."""

    def __init__(self, base_url: str, *, timeout: float,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), follow_redirects=False,
            headers={"User-Agent": "authsvc", "Add-Padding": "true"},
        )

    async def count(self, password: str) -> int:
        """How often the password appears in breaches (0: never). Raises BreachCheckUnavailable."""
        digest = sha1_hex(password)
        prefix, suffix = digest[:PREFIX_CHARS], digest[PREFIX_CHARS:]
        try:
            response = await self._client.get(f"{self.base_url}/range/{prefix}",
                                              timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise BreachCheckUnavailable(type(exc).__name__) from None
        if response.status_code != 200:
            raise BreachCheckUnavailable(f"HTTP {response.status_code}")
        return _count_in(response.text, suffix)

    async def aclose(self) -> None:
        await self._client.aclose()


def _count_in(body: str, suffix: str) -> int:
    for line in body.splitlines():
        candidate, _, count = line.strip().partition(":")
        if candidate.upper() == suffix:
            try:
                return int(count or 0)  # padding lines have a count of 0
            except ValueError:
                raise BreachCheckUnavailable("malformed range answer") from None
    return 0


class BreachFile:
    """A sorted run of 20-byte SHA-1 digests, searched by bisection."""

    def __init__(self, digests: bytes) -> None:
        if len(digests) % DIGEST_BYTES:
            raise ValueError("digests must be 20 bytes each")
        self._view = _Records(digests)

    @classmethod
    def load(cls, path: Path) -> BreachFile:
        """Read `path` (`SHA1` or `SHA1:COUNT` a line; blank lines skipped). Raises
        BreachFileInvalid naming the first bad line, or OSError."""
        with path.open("r", encoding="ascii", errors="replace") as lines:
            return cls.from_lines(lines, source=str(path))

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, source: str = "breach list") -> BreachFile:
        chunks = bytearray()
        previous = b""
        ordered = True
        for number, line in enumerate(lines, 1):
            text = line.strip().partition(":")[0]
            if not text:
                continue
            try:
                digest = bytes.fromhex(text)
            except ValueError:
                digest = b""
            if len(digest) != DIGEST_BYTES:
                raise BreachFileInvalid(f"{source}, line {number}: not a SHA-1 hex digest")
            ordered = ordered and digest >= previous
            previous = digest
            chunks += digest
        if not ordered:
            records = sorted(chunks[i:i + DIGEST_BYTES] for i in range(0, len(chunks),
                                                                       DIGEST_BYTES))
            chunks = bytearray(b"".join(records))
        return cls(bytes(chunks))

    def __len__(self) -> int:
        return len(self._view)

    def __contains__(self, password: object) -> bool:
        if not isinstance(password, str):
            return False
        digest = bytes.fromhex(sha1_hex(password))
        index = bisect.bisect_left(self._view, digest)
        return index < len(self._view) and self._view[index] == digest


class _Records:
    """The digests as a read-only sequence, for `bisect` (no copy of the buffer)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._n = len(data) // DIGEST_BYTES

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int) -> bytes:
        start = index * DIGEST_BYTES
        return bytes(self._data[start:start + DIGEST_BYTES])


class BreachedPasswords:
    """The file and the API together. `fail_closed`: an unanswered API refuses new passwords."""

    def __init__(self, *, api: RangeApi | None = None, file: BreachFile | None = None,
                 fail_closed: bool = False) -> None:
        self.api = api
        self.file = file
        self.fail_closed = fail_closed

    @property
    def enabled(self) -> bool:
        return self.api is not None or self.file is not None

    async def is_breached(self, password: str, *, new: bool) -> bool:
        """True when a list names the password. For a `new` password with `fail_closed`, an
        unanswered API raises BreachCheckUnavailable; otherwise it counts as not found."""
        if self.file is not None and password in self.file:
            return True
        if self.api is None:
            return False
        try:
            return await self.api.count(password) > 0
        except BreachCheckUnavailable as exc:
            log.warning("breached-password check unavailable (%s): %s", exc,
                        "refusing the new password" if new and self.fail_closed
                        else "not checked")
            if new and self.fail_closed:
                raise
            return False

    async def aclose(self) -> None:
        if self.api is not None:
            await self.api.aclose()
