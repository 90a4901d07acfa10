"""Build `src/authsvc/data/common-passwords.txt.gz`, the password blocklist shipped with authsvc.

Sources (both downloaded from PyPI as wheels; neither is a runtime dependency of authsvc):

- zxcvbn 4.5.0 (https://github.com/dwolfhub/zxcvbn-python), MIT licence, Copyright (c) 2016
  Daniel Wolf (port of Dropbox's zxcvbn, MIT, Copyright (c) 2012-2016 Dan Wheeler and Dropbox,
  Inc.): the 30,000 most frequent passwords of `zxcvbn/frequency_lists.py` ("passwords").
- Django 5.2.19 (https://www.djangoproject.com/), BSD-3-Clause licence, Copyright (c) Django
  Software Foundation and individual contributors: `django/contrib/auth/common-passwords.txt.gz`,
  20,000 common passwords (unhexed, lower-cased, deduplicated) compiled by Royce Williams.

Every entry goes through `authsvc.security.policy.normalize_password` and is lower-cased, the
same key `Blocklist.__contains__` uses; the union is deduplicated, sorted, and written gzip'd with
a zero timestamp, so the same wheels always give the same bytes.

Usage, from the repository root:

    python scripts/build_blocklist.py                    # downloads the pinned wheels with pip
    python scripts/build_blocklist.py --wheels DIR       # uses wheels already in DIR
"""

from __future__ import annotations

import argparse
import ast
import gzip
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from authsvc.security.policy import normalize_password  # noqa: E402

OUTPUT = ROOT / "src" / "authsvc" / "data" / "common-passwords.txt.gz"
PINS = ("zxcvbn==4.5.0", "django==5.2.19")


def download(dest: Path) -> None:
    """Fetch the pinned wheels (no dependencies) into `dest`."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*command, "-d", str(dest), *PINS], check=True)  # noqa: S603


def wheel(directory: Path, name: str) -> zipfile.ZipFile:
    (path,) = directory.glob(f"{name}-*.whl")
    return zipfile.ZipFile(path)


def zxcvbn_passwords(directory: Path) -> list[str]:
    """The "passwords" frequency list, read as data: the module is parsed, never imported."""
    with wheel(directory, "zxcvbn") as whl:
        tree = ast.parse(whl.read("zxcvbn/frequency_lists.py"))
    # The file holds `FREQUENCY_LISTS = {"passwords": "123456,password,...".split(","), ...}`.
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "passwords":
                    assert isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    listed: str = ast.literal_eval(value.func.value)
                    return listed.split(",")
    raise LookupError("the passwords list was not found in zxcvbn/frequency_lists.py")


def django_passwords(directory: Path) -> list[str]:
    with wheel(directory, "django") as whl:
        data = gzip.decompress(whl.read("django/contrib/auth/common-passwords.txt.gz"))
    return data.decode("utf-8").splitlines()


def build(directory: Path) -> set[str]:
    raw = zxcvbn_passwords(directory) + django_passwords(directory)
    return {normalize_password(p.strip()).lower() for p in raw if p.strip()}


def write(entries: set[str], path: Path) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as gz:
        gz.write("".join(f"{p}\n" for p in sorted(entries)).encode("utf-8"))
    path.write_bytes(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="a folder holding the pinned wheels")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.wheels or Path(tmp)
        if args.wheels is None:
            download(directory)
        entries = build(directory)
    write(entries, OUTPUT)
    print(f"{OUTPUT.relative_to(ROOT)}: {len(entries)} passwords")


if __name__ == "__main__":
    main()
