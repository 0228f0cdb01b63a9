"""Two real portal nodes (gunicorn) behind a real nginx with a self-signed certificate.

nginx is configured from the shipped site (deploy/nginx/portal-site.conf), the nodes from
deploy/gunicorn.conf.py, both as production runs them; they share one PostgreSQL database
and one Redis database (number REDIS_DB, kept for these tests).
"""

import datetime
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

from portal.config import PROJECT_ROOT, TestingConfig

REDIS_DB = 11
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUNICORN = str(Path(os.sys.executable).with_name("gunicorn"))
PROXY_ADDRESS = "127.0.0.1"  # nginx reaches the nodes from here: the one trusted proxy


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "portal.crt", directory / "portal.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """What envsubst does with a named list: ${NAME} replaced, nginx's $variables kept."""
    return re.sub(
        r"\$\{([A-Z0-9_]+)\}", lambda match: values.get(match.group(1), match.group(0)), template
    )


class SourceAddress(HTTPAdapter):
    """Connections from a chosen loopback address: a client other than the proxy."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, connections, maxsize, block=False, **kwargs):
        """Bind every connection to the address."""
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(connections, maxsize, block, **kwargs)


def client_from(address: str, ca_file: Path | None = None) -> requests.Session:
    """A browser-like session whose connections come from the given loopback address."""
    session = requests.Session()
    # Not REQUESTS_CA_BUNDLE or a proxy from the environment: this certificate, directly.
    session.trust_env = False
    session.mount("http://", SourceAddress(address))
    session.mount("https://", SourceAddress(address))
    if ca_file:
        session.verify = str(ca_file)
    return session


@dataclass
class Node:
    """One gunicorn node."""

    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The node's own address, bypassing nginx."""
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """Stop the node at once, its workers too, as a crash or a pulled cable would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def requests_served(self, path: str) -> int:
        """How many requests for the path this node's access log shows."""
        return sum(f'"GET {path} ' in line or f'"POST {path} ' in line for line in self.lines())

    def lines(self) -> list[str]:
        """The node's log so far."""
        return self.log.read_text(errors="replace").splitlines()


@dataclass
class Cluster:
    """nginx in front of two nodes; base_url is the portal's public https address."""

    workdir: Path
    database_url: str
    settings: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    https_port: int = 0
    ca_file: Path | None = None

    @property
    def base_url(self) -> str:
        """Where people reach the portal."""
        return f"https://localhost:{self.https_port}"

    def node_environment(self, node: Node) -> dict[str, str]:
        """A production node's environment, as deploy/portal.env.example lists it."""
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PORTAL_", "RATELIMIT_", "TEST_"))
        }
        environment.update(
            PORTAL_ENV="production",
            PORTAL_INSTANCE_PATH=str(self.workdir / "instance"),
            SECRET_KEY="two-nodes-share-this-secret",
            ID_ENCRYPTION_KEYS=TestingConfig.ID_ENCRYPTION_KEYS,
            ID_HASH_KEY=TestingConfig.ID_HASH_KEY,
            DATABASE_URL=self.database_url,
            RATELIMIT_STORAGE_URI=REDIS_URL,
            EXTERNAL_BASE_URL=self.base_url,
            TRUSTED_HOSTS="localhost",
            TRUSTED_PROXIES="1",
            TRUSTED_PROXY_ADDRESSES=PROXY_ADDRESS,
            MAIL_BACKEND="console",
            PORTAL_BIND=f"127.0.0.1:{node.port}",
            PORTAL_WORKERS="1",
            PORTAL_THREADS="4",
            PORTAL_ACCESS_LOG="-",  # the test counts which node answered what
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_COST_KIB="8192",
            ARGON2_PARALLELISM="1",
            **self.settings,
        )
        return environment

    def start(self) -> None:
        """Start both nodes and nginx; return when each answers."""
        self.https_port = free_port()
        cert, key = self_signed_certificate(self.workdir)
        self.ca_file = cert
        for index in (1, 2):
            node = Node(free_port(), self.workdir / f"node{index}.log")
            self._start_node(node)
            self.nodes.append(node)
        self._start_nginx(cert, key)
        for node in self.nodes:
            self._wait_for(lambda node=node: self._answers(node.url + "/healthz"))
        self._wait_for(lambda: self._answers(self.base_url + "/healthz"))

    def _start_node(self, node: Node) -> None:
        with node.log.open("ab") as log:
            node.process = subprocess.Popen(
                [GUNICORN, "--config", "deploy/gunicorn.conf.py", "wsgi:app"],
                cwd=PROJECT_ROOT,
                env=self.node_environment(node),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def restart(self, node: Node) -> float:
        """The README's rolling restart of one node: drained at nginx (`down`, reload), stopped
        as systemd does (SIGTERM to gunicorn), started, back in nginx; the seconds it was away.
        """
        site = self.workdir / "site.conf"
        serving = site.read_text()
        line = f"server 127.0.0.1:{node.port} "
        site.write_text(serving.replace(line, line + "down "))
        self.nginx.send_signal(signal.SIGHUP)
        time.sleep(1)  # nginx's old workers finish what they had sent the node
        stopped = time.monotonic()
        node.process.send_signal(signal.SIGTERM)
        node.process.wait(timeout=40)
        self._start_node(node)
        self._wait_for(lambda: self._answers(node.url + "/healthz"))
        away = time.monotonic() - stopped
        site.write_text(serving)
        self.nginx.send_signal(signal.SIGHUP)
        return away

    def _start_nginx(self, cert: Path, key: Path) -> None:
        site = fill_placeholders(
            (PROJECT_ROOT / "deploy" / "nginx" / "portal-site.conf").read_text(),
            {
                "SERVER_NAME": "localhost",
                "HTTPS_PORT": str(self.https_port),
                "HTTP_PORT": str(free_port()),
                "TLS_CERTIFICATE": str(cert),
                "TLS_CERTIFICATE_KEY": str(key),
                "STATIC_ROOT": str(PROJECT_ROOT / "portal" / "static"),
                "NODE_1": f"127.0.0.1:{self.nodes[0].port}",
                "NODE_2": f"127.0.0.1:{self.nodes[1].port}",
                "ACCESS_LOG": str(self.workdir / "nginx-access.log"),
            },
        )
        (self.workdir / "site.conf").write_text(site)
        temp = self.workdir / "nginx-temp"
        temp.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""
        (self.workdir / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {self.workdir}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.workdir}/site.conf;
}}
"""
        )
        self.nginx = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(self.workdir),
                "-c",
                str(self.workdir / "nginx.conf"),
                "-e",
                str(self.workdir / "nginx-error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _answers(self, url: str) -> bool:
        try:
            headers = {"Host": "localhost"} if url.startswith("http://") else {}
            return client_from("127.0.0.1", self.ca_file).get(url, headers=headers, timeout=2).ok
        except requests.RequestException:
            return False

    def _wait_for(self, ready, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            if time.monotonic() > deadline:
                logs = "\n".join(line for node in self.nodes for line in node.lines()[-20:])
                raise TimeoutError(f"the cluster did not come up:\n{logs}")
            if self.nginx.poll() is not None:
                raise RuntimeError((self.workdir / "nginx-error.log").read_text())
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop nginx and whatever node still runs."""
        if self.nginx and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
                node.process.wait(timeout=30)
