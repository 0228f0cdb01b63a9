"""The deploy/ folder: the production environment example starts the portal, the nginx site
is valid and admits the largest upload, and forwarded addresses count only from the proxy."""

import os
import re
import subprocess
import sys

from cryptography.fernet import Fernet
from werkzeug.test import Client

from portal.config import PROJECT_ROOT, Config
from portal.proxy import TrustedProxyFix
from tests.deploy.cluster import NGINX, fill_placeholders, self_signed_certificate

DEPLOY = PROJECT_ROOT / "deploy"


def example_environment() -> dict[str, str]:
    """deploy/portal.env.example with its REPLACE_… markers filled."""
    values = {}
    for line in (DEPLOY / "portal.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    values["ID_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    return {name: value.replace("REPLACE_WITH_", "filled-") for name, value in values.items()}


def test_the_example_environment_is_all_production_needs(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "TEST_", "RATELIMIT_"))
    }
    environment.update(example_environment())
    environment["PORTAL_INSTANCE_PATH"] = str(tmp_path)
    script = (
        "from portal import create_app; app = create_app(); "
        "print(app.config['RATELIMIT_STORAGE_URI'], app.config['TRUSTED_PROXY_ADDRESSES'], "
        "app.config['SESSION_COOKIE_SECURE'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "redis://10.0.3.20:6379/0",
        "['10.0.1.10',",
        "'10.0.1.11']",
        "True",
    ]


def test_the_nginx_site_is_valid(tmp_path):
    site = fill_placeholders(
        (DEPLOY / "nginx" / "portal-site.conf").read_text(),
        {
            "SERVER_NAME": "portal.example.gov.tw",
            "HTTPS_PORT": "8443",
            "HTTP_PORT": "8080",
            "TLS_CERTIFICATE": str(tmp_path / "portal.crt"),
            "TLS_CERTIFICATE_KEY": str(tmp_path / "portal.key"),
            "STATIC_ROOT": str(PROJECT_ROOT / "portal" / "static"),
            "NODE_1": "10.0.2.11:8000",
            "NODE_2": "10.0.2.12:8000",
            "ACCESS_LOG": str(tmp_path / "access.log"),
        },
    )
    self_signed_certificate(tmp_path)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{ include /etc/nginx/mime.types; include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        [
            NGINX,
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_nginx_admits_the_largest_upload_the_portal_accepts():
    site = (DEPLOY / "nginx" / "portal-site.conf").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", site).group(1))
    largest = max(Config.UPLOAD_MAX_BYTES, Config.CONTENT_UPLOAD_MAX_BYTES)
    # Room for the multipart envelope, but not a second file's worth.
    assert largest < megabytes * 1024 * 1024 <= largest + 2 * 1024 * 1024


def echo_address(environ, start_response):
    """A WSGI app answering with the client address and scheme it was given."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['REMOTE_ADDR']} {environ['wsgi.url_scheme']}".encode()]


def test_forwarded_headers_count_only_from_the_trusted_proxy():
    app = TrustedProxyFix(echo_address, hops=1, addresses=["10.0.1.10", "10.0.9.0/24"])
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}

    def seen(peer: str) -> str:
        response = Client(app).get("/", headers=forged, environ_base={"REMOTE_ADDR": peer})
        return response.get_data(as_text=True)

    assert seen("10.0.1.10") == "203.0.113.9 https"
    assert seen("10.0.9.77") == "203.0.113.9 https"
    assert seen("10.0.1.99") == "10.0.1.99 http"
    assert seen("not-an-address") == "not-an-address http"
