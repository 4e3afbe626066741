"""Test peers and builders for firmware/diagnostics tests: a real HTTP server and a real FTP
server on 127.0.0.1 port 0 (threads), certificates, release archives and a recording host."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import io
import ipaddress
import json
import socket
import ssl
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from chargepoint.firmware.installer import InstallError
from chargepoint.firmware.release import Release

# -- HTTP ------------------------------------------------------------------------------------


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    mode: str = "normal"  # normal | slow | truncated | chunked
    fail_first: int = 0  # answer 503 this many times first


@dataclass
class HttpPeer:
    server: ThreadingHTTPServer
    routes: dict[str, Route] = field(default_factory=dict)
    uploads: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)  # frees slow handlers
    upload_status: int = 201

    @property
    def base(self) -> str:
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path


def _handler(peer: HttpPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            peer.hits[self.path] = peer.hits.get(self.path, 0) + 1
            route = peer.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if peer.hits[self.path] <= route.fail_first:
                self.send_error(503)
                return
            if route.status != 200:
                self.send_error(route.status)
                return
            self.send_response(200)
            if route.mode == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(route.body), 4096):
                    part = route.body[i:i + 4096]
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            if route.mode == "slow":
                self.wfile.write(route.body[:10])
                self.wfile.flush()
                peer.release.wait(30)  # until the test ends: the client must time out
                return
            if route.mode == "truncated":
                self.wfile.write(route.body[: len(route.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(route.body)

        def _upload(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            peer.hits[self.path] = peer.hits.get(self.path, 0) + 1
            peer.uploads.append((self.command, self.path, data, dict(self.headers)))
            self.send_response(peer.upload_status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = _upload
        do_POST = _upload

    return Handler


@contextlib.contextmanager
def http_peer(tls: ssl.SSLContext | None = None) -> Iterator[HttpPeer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    peer = HttpPeer(server)
    server.RequestHandlerClass = _handler(peer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.release.set()
        server.shutdown()
        server.server_close()


# -- FTP -------------------------------------------------------------------------------------


@dataclass
class FtpPeer:
    server: ThreadedFTPServer
    root: Path
    user: str = "diag"
    password: str = "s3cret"

    scheme: str = "ftp"

    @property
    def port(self) -> int:
        return int(self.server.address[1])

    def url(self, path: str, password: str | None = None) -> str:
        return (f"{self.scheme}://{self.user}:{password or self.password}@127.0.0.1:{self.port}/"
                f"{path.lstrip('/')}")


@contextlib.contextmanager
def ftp_peer(root: Path, certfile: Path | None = None) -> Iterator[FtpPeer]:
    """An FTP server; with ``certfile`` an FTPS one (explicit AUTH TLS, TLS required on both
    the control and the data connections)."""
    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user("diag", "s3cret", str(root), perm="elradfmwMT")
    attrs: dict[str, Any] = {"authorizer": authorizer, "auth_failed_timeout": 0}
    base: type[FTPHandler] = FTPHandler
    if certfile is not None:
        from pyftpdlib.handlers import TLS_FTPHandler

        base = TLS_FTPHandler
        attrs.update(certfile=str(certfile), tls_control_required=True, tls_data_required=True)
    handler = type("Handler", (base,), attrs)
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True,
                              kwargs={"handle_exit": False, "timeout": 0.05})
    thread.start()
    try:
        yield FtpPeer(server, root, scheme="ftps" if certfile is not None else "ftp")
    finally:
        server.close_all()
        thread.join(5)


def refused_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iso(at: float) -> str:
    """Epoch seconds as an OCPP timestamp."""
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- certificates ----------------------------------------------------------------------------

NOW = dt.datetime.now(dt.UTC)


@dataclass
class Pki:
    key: Any
    cert: x509.Certificate

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, data: bytes) -> str:
        if isinstance(self.key, rsa.RSAPrivateKey):
            sig = self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            sig = self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(sig).decode()


def make_cert(name: str, issuer: Pki | None, *, ca: bool, ec_key: bool = False,
              days: int = 365, start_days: int = -1) -> Pki:
    key: Any = ec.generate_private_key(ec.SECP256R1()) if ec_key else rsa.generate_private_key(
        public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW + dt.timedelta(days=start_days))
               .not_valid_after(NOW + dt.timedelta(days=start_days + days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Pki(key, cert)


def server_tls(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    """A TLS server context for 127.0.0.1 signed by a test CA; returns it and the CA file."""
    ca = make_cert("Test CA", None, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    (tmp / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                                     + key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (tmp / "ca.pem").write_text(ca.pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "server.pem")
    return ctx, tmp / "ca.pem"


def install_root(roots_dir: Path, pki: Pki, name: str = "root.pem") -> None:
    roots_dir.mkdir(parents=True, exist_ok=True)
    (roots_dir / name).write_text(pki.pem)


# -- releases --------------------------------------------------------------------------------


def make_release(version: str, *, name: str = "chargepoint", python: str = ">=3.8",
                 tamper: bool = False, wheel_name: str | None = None,
                 extra: dict[str, bytes] | None = None, wheel: bytes | None = None) -> bytes:
    """A release tar.gz in memory; ``tamper`` makes the wheel differ from its manifest hash;
    ``wheel`` is the wheel's content (default: a placeholder for ``FakeInstaller``)."""
    wheel_file = wheel_name or f"chargepoint-{version}-py3-none-any.whl"
    content = wheel if wheel is not None else f"fake wheel {version}".encode()
    manifest = {"name": name, "version": version, "python": python, "install": wheel_file,
                "files": [{"name": wheel_file, "sha256": hashlib.sha256(content).hexdigest()}]}
    members = {"manifest.json": json.dumps(manifest).encode(),
               wheel_file: content + (b"!" if tamper else b""), **(extra or {})}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_wheel(version: str, init_py: str) -> bytes:
    """A minimal real wheel of a package ``chargepoint`` whose ``__init__`` is ``init_py``."""
    files = {"chargepoint/__init__.py": init_py.encode(),
             f"chargepoint-{version}.dist-info/METADATA":
                 f"Metadata-Version: 2.1\nName: chargepoint\nVersion: {version}\n".encode(),
             f"chargepoint-{version}.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                 b"Tag: py3-none-any\n"}
    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

    record = "".join(f"{name},sha256={digest(data)},{len(data)}\n"
                     for name, data in files.items())
    record += f"chargepoint-{version}.dist-info/RECORD,,\n"
    files[f"chargepoint-{version}.dist-info/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


class FakeInstaller:
    """Slot installer stand-in: writes the wheel and a VERSION marker into the slot (fast,
    offline). ``fail`` makes it raise InstallError."""

    uses_slots = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.installed: list[str] = []

    async def install(self, file: Path, release: Release | None, slot: Path | None) -> None:
        assert release is not None and slot is not None
        if self.fail:
            raise InstallError("pip install failed (simulated)")
        slot.mkdir(parents=True)
        (slot / "VERSION").write_text(release.manifest.version)
        (slot / release.manifest.install).write_bytes(release.install_file.read_bytes())
        self.installed.append(release.manifest.version)


# -- a recording FirmwareHost ----------------------------------------------------------------


@dataclass
class FakeHost:
    """Records what the managers ask of the station; ``running`` simulates open transactions."""

    running: bool = False
    reports: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    security: list[tuple[str, str]] = field(default_factory=list)
    availability: list[bool] = field(default_factory=list)
    restarts: int = 0
    polls: int = 0

    def __post_init__(self) -> None:
        self.changed = asyncio.Event()

    def report(self, action: str, payload: dict[str, object]) -> None:
        self.reports.append((action, dict(payload)))
        self.changed.set()

    def security_event(self, kind: str, tech_info: str) -> None:
        self.security.append((kind, tech_info))

    def transactions_running(self) -> bool:
        self.polls += 1
        if self.polls >= 3:
            self.running = False  # the session ends while we wait
        return self.running

    def set_operative(self, operative: bool) -> None:
        self.availability.append(operative)

    async def restart(self) -> None:
        self.restarts += 1
        self.changed.set()

    def statuses(self, action: str | None = None) -> list[str]:
        return [str(p["status"]) for a, p in self.reports if action is None or a == action]

    async def wait_status(self, *final: str, timeout: float = 20) -> list[str]:
        async def waiter() -> list[str]:
            while not (self.statuses() and self.statuses()[-1] in final):
                self.changed.clear()
                await self.changed.wait()
            return self.statuses()
        return await asyncio.wait_for(waiter(), timeout)
