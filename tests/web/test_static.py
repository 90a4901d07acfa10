"""Static files: self-contained (no CDN, no web fonts) and the CSRF fetch wrapper's behaviour."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from authsvc.web.templating import STATIC_DIR

CSS = STATIC_DIR / "css" / "app.css"
JS = sorted((STATIC_DIR / "js").glob("*.js"))


def test_the_expected_files_exist() -> None:
    assert CSS.is_file()
    assert {p.name for p in JS} == {"csrf_manager.js", "password_hints.js", "passkeys.js",
                                    "pages.js"}


def test_nothing_is_loaded_from_elsewhere() -> None:
    for path in [CSS, *JS]:
        text = path.read_text()
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I), path.name
        assert "@import" not in text and "@font-face" not in text, path.name
        assert "eval(" not in text and "innerHTML" not in text, path.name


def test_css_has_focus_styles_and_a_small_screen_layout() -> None:
    text = CSS.read_text()
    assert ":focus-visible" in text
    assert "@media (max-width" in text


NODE_HARNESS = r"""
const calls = [];
globalThis.window = globalThis;
window.location = new URL("https://auth.example/account");
window.fetch = (input, init) => { calls.push([input, init]); return Promise.resolve(null); };
globalThis.document = {
  querySelector: (sel) => sel === 'meta[name="csrf-token"]'
    ? { getAttribute: () => "TOKEN" } : null,
};
require(process.argv[2]);
const cases = [
  ["/account/x", { method: "POST" }],
  ["/account/x", undefined],
  ["/account/x", { method: "get" }],
  ["https://auth.example/y", { method: "DELETE", headers: { "X-Other": "1" } }],
  ["https://evil.example/y", { method: "POST" }],
  ["//evil.example/y", { method: "POST" }],
  [new Request("https://auth.example/z", { method: "PUT" }), undefined],
  ["/account/x", { method: "POST", headers: { "X-CSRF-Token": "MINE" } }],
];
(async () => {
  const out = [];
  for (const [input, init] of cases) {
    calls.length = 0;
    await window.fetch(input, init);
    const used = calls[0][1];
    const headers = used && used.headers ? new Headers(used.headers) : new Headers();
    out.push({ token: headers.get("X-CSRF-Token"), other: headers.get("X-Other"),
               credentials: used ? used.credentials || null : null });
  }
  console.log(JSON.stringify(out));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_csrf_manager_adds_the_header_to_same_origin_unsafe_fetches(tmp_path: Path) -> None:
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS)
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["node", str(harness), str(STATIC_DIR / "js" / "csrf_manager.js")],  # noqa: S607
        capture_output=True, text=True, timeout=30, check=True,
    )
    results = json.loads(done.stdout)
    tokens = [r["token"] for r in results]
    assert tokens == ["TOKEN", None, None, "TOKEN", None, None, "TOKEN", "MINE"]
    assert results[3]["other"] == "1"  # the caller's headers are kept
    assert results[0]["credentials"] == "same-origin"
