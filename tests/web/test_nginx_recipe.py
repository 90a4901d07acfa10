"""The nginx recipe of docs/forward-auth.md, as written, in a real nginx in front of a tiny app.

The `server { ... }` block is read from the doc (so the doc cannot drift from what is tested);
only the upstream ports, the listen address and the certificate paths are replaced. nginx runs in
the foreground (no daemon, no master), TLS with a throw-away certificate, in front of a real
`authsvc serve` and an app that echoes the headers it received.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests import processes
from tests.infra import STRONG_PASSWORD, unique_email
from tests.recovery.helpers import RESET_SUBJECT, mails
from tests.smtp_server import SmtpSink
from tests.web.pages import csrf_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "forward-auth.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(NGINX).exists(),
                       reason="needs nginx (Debian nginx-light; scripts/services.sh installs it)"),
]


def recipe() -> str:
    """The first ```nginx block of the doc."""
    found = re.search(r"```nginx\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, "docs/forward-auth.md has no nginx block"
    return found.group(1)


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_conf(tmp: Path, port: int, authsvc_port: int, app_port: int) -> str:
    cert, key = self_signed(tmp)
    server = recipe()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{authsvc_port};",
        "server 127.0.0.1:9000;": f"server 127.0.0.1:{app_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "/etc/ssl/certs/app.example.com.pem": str(cert),
        "/etc/ssl/private/app.example.com.key": str(key),
    }
    for old, new in replacements.items():
        assert old in server, f"the recipe changed: {old!r} is gone; update this test"
        server = server.replace(old, new)
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"daemon off;\nmaster_process off;\npid {tmp / 'nginx.pid'};\n"
            f"error_log {tmp / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log off;\n{temp}\n{server}\n}}\n")


class _Echo(BaseHTTPRequestHandler):
    """The app behind the proxy: answers with the headers it was given."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stack(database_url: str, redis_url: str, tmp_path: Path,
          smtp_sink: SmtpSink) -> Iterator[tuple[str, SmtpSink]]:
    app = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    port = processes.free_port()
    origin = f"https://127.0.0.1:{port}"
    env = processes.environment(
        database_url, redis_url, AUTHSVC_ISSUER=origin, AUTHSVC_PUBLIC_URL=origin,
        AUTHSVC_TRUSTED_PROXIES="127.0.0.1/32", AUTHSVC_DATA_DIR=str(tmp_path),
        AUTHSVC_SMTP_HOST=smtp_sink.host, AUTHSVC_SMTP_PORT=str(smtp_sink.port),
        AUTHSVC_SMTP_TLS="none", AUTHSVC_LOCKOUT_COOLDOWN_BASE="0", AUTHSVC_COOKIE_SECURE="true")
    server = processes.Server(env)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, port, server.port, app.server_address[1]))
    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server.wait_ready()
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{origin}/login", verify=False, timeout=1)  # noqa: S501 - test cert
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
                time.sleep(0.1)
        yield origin, smtp_sink
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.stop()
        app.shutdown()


def wait_for_mail(sink: SmtpSink, to: str, subject: str) -> str:
    deadline = time.monotonic() + 10
    while not (found := mails(sink, to, subject)):
        assert time.monotonic() < deadline, "no mail"
        time.sleep(0.05)
    body = found[0].get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_nginx_recipe_as_written(stack: tuple[str, SmtpSink]) -> None:
    origin, sink = stack
    html = {"Accept": "text/html,application/xhtml+xml"}
    with httpx.Client(base_url=origin, verify=False, timeout=10) as browser:  # noqa: S501
        # Not signed in: a browser goes to the login page (and back afterwards), an API gets 401.
        first = browser.get("/reports?id=7", headers=html)
        assert first.status_code == 302
        login_url = first.headers["location"].removeprefix(origin)  # nginx makes it absolute
        assert login_url == "/login?next=/reports%3Fid%3D7"
        assert browser.get("/reports", headers={"Accept": "application/json"}).status_code == 401

        # Register and sign in through nginx; the session cookie is the __Host- one (HTTPS).
        email = unique_email("nginx")
        form = browser.get("/register")
        assert form.status_code == 200 and "text/html" in form.headers["content-type"]
        registered = browser.post("/register", data={
            "email": email, "password": STRONG_PASSWORD, "csrf_token": csrf_of(form)})
        assert registered.status_code == 303, registered.text
        browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/account"))})
        assert browser.get("/reports", headers=html).status_code == 302
        login = browser.get(login_url)
        next_field = re.search(r'name="next" value="([^"]+)"', login.text)
        assert next_field, login.text
        signed_in = browser.post("/login", data={
            "username": email, "password": STRONG_PASSWORD, "csrf_token": csrf_of(login),
            "next": next_field.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == "/reports?id=7"
        assert "__Host-authsvc_session" in browser.cookies

        # The app sees who it is, and never what the client claims to be.
        seen = browser.get("/reports?id=7", headers={
            "X-Auth-User-Email": "mallory@example.com", "X-Auth-Roles": "admin",
            "X-Auth-User-Id": "forged"})
        assert seen.status_code == 200, seen.text
        headers = seen.json()["headers"]
        assert seen.json()["path"] == "/reports?id=7"
        assert headers["x-auth-user-email"] == email
        assert len(headers["x-auth-user-id"]) == 36
        assert "x-auth-roles" not in headers  # no roles: nginx drops the empty header (the doc)

        # Static assets and the favicon are authsvc's, not the app's.
        css = browser.get("/static/css/app.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        assert browser.get("/favicon.ico").status_code == 200
        branding = browser.get("/branding.css")
        assert branding.status_code == 200 and "text/css" in branding.headers["content-type"]

        # Account recovery: the pages and the mailed link reach authsvc, even signed out.
        browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/account"))})
        forgot = browser.get("/forgot")
        assert forgot.status_code == 200 and 'name="email"' in forgot.text
        sent = browser.post("/forgot", data={"email": email, "csrf_token": csrf_of(forgot)})
        assert sent.status_code in (200, 303), sent.text
        link = re.search(r"https://\S+", wait_for_mail(sink, email, RESET_SUBJECT))
        assert link and link.group(0).startswith(f"{origin}/reset?token=")
        page = browser.get(link.group(0).removeprefix(origin))
        assert page.status_code == 200 and 'name="password"' in page.text
        verify = browser.get("/verify?token=x")
        assert verify.status_code == 200 and "/login" not in str(verify.url)

        # Signed out, access has ended.
        assert browser.get("/reports", headers=html).status_code == 302
