"""Bounded file downloads over http, https, ftp and ftps (stdlib, run in a thread).

Contract: ``await download(url, dest, policy=...)`` streams the remote file to ``dest`` (a
fixed name chosen by the caller inside a private directory: nothing of the URL ever becomes a
path) and returns the number of bytes, or raises ``TransferError`` whose ``kind`` says what
went wrong. ``await with_retries(op, attempts, interval)`` runs a transfer again after a
failure. The file is written as ``dest.part`` and renamed only when complete, so ``dest``
either holds the whole file or does not exist.

Bounds (``TransferPolicy``): at most ``max_bytes``; the disk keeps ``min_free_bytes`` free
(checked against the announced size before the first byte is written, and while an unknown
size is written); no data for ``idle_timeout_s`` aborts; the
whole transfer is stopped at the first chunk after ``timeout_s`` (so it ends within
``timeout_s + idle_timeout_s``). TLS (https, ftps = explicit AUTH TLS, passive mode) always
verifies the server against ``ca_file`` or the system CAs; https never redirects to http.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import ftplib
import http.client
import logging
import os
import shutil
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

LOG = logging.getLogger("chargepoint.firmware")

SCHEMES = ("http", "https", "ftp", "ftps")
_T = TypeVar("_T")


class FailureKind(enum.Enum):
    BAD_URL = "bad_url"  # unparsable, no host
    UNSUPPORTED = "unsupported"  # scheme we do not speak
    NOT_FOUND = "not_found"
    PERMISSION = "permission"  # 401/403, FTP 530/550 on upload
    REFUSED = "refused"  # connection refused, DNS, unreachable
    TIMEOUT = "timeout"  # idle or overall
    TOO_LARGE = "too_large"
    NO_SPACE = "no_space"  # the local disk cannot hold the file (and the margin)
    TRUNCATED = "truncated"
    TLS = "tls"
    CANCELLED = "cancelled"
    OTHER = "other"


class TransferError(Exception):
    """A transfer failed; ``kind`` classifies it, the message is safe to log (no password)."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(f"{kind.value}: {reason}")
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    max_bytes: int = 256 * 1024 * 1024
    timeout_s: float = 900.0
    idle_timeout_s: float = 60.0
    ca_file: str | None = None  # PEM bundle for https/ftps; None: the system's CAs
    chunk_size: int = 64 * 1024
    # Left free on the download's file system for the store, the logs and the installation:
    # a download that would eat into it is refused (NO_SPACE, not retried).
    min_free_bytes: int = 32 * 1024 * 1024

    def tls_context(self) -> ssl.SSLContext:
        """Verifying client context (hostname and chain checked)."""
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True, slots=True)
class Location:
    """A parsed, validated remote location."""

    scheme: str
    host: str
    port: int | None
    path: str  # unquoted, as in the URL
    user: str | None
    password: str | None
    url: str

    @property
    def safe(self) -> str:
        """The URL with any password replaced (for logs and errors)."""
        return safe_url(self.url)


def safe_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def parse_location(url: str) -> Location:
    """Validate ``url``; raises ``TransferError`` (BAD_URL / UNSUPPORTED)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise TransferError(FailureKind.BAD_URL, f"unparsable URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise TransferError(FailureKind.UNSUPPORTED, f"scheme {scheme or '(none)'!r}")
    if not parts.hostname:
        raise TransferError(FailureKind.BAD_URL, "no host in URL")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return Location(scheme, parts.hostname, port, urllib.parse.unquote(parts.path), user,
                    password, url.strip())


class _Sink:
    """Writes chunks to ``dest.part`` while enforcing size, deadline and cancellation."""

    def __init__(self, dest: Path, policy: TransferPolicy, cancel: threading.Event) -> None:
        self.part = dest.with_name(dest.name + ".part")
        self.policy = policy
        self.cancel = cancel
        self.deadline = time.monotonic() + policy.timeout_s
        self.written = 0
        self.checked = 0  # bytes written when free space was last looked at
        self.file: IO[bytes] = open(self.part, "wb")  # noqa: SIM115 - closed in finish/abort

    def write(self, chunk: bytes) -> None:
        if self.cancel.is_set():
            raise TransferError(FailureKind.CANCELLED, "cancelled")
        if time.monotonic() > self.deadline:
            raise TransferError(FailureKind.TIMEOUT, f"not done within {self.policy.timeout_s} s")
        self.written += len(chunk)
        if self.written > self.policy.max_bytes:
            raise TransferError(FailureKind.TOO_LARGE, f"over {self.policy.max_bytes} bytes")
        if self.written - self.checked >= _SPACE_CHECK_EVERY:
            self.checked = self.written
            self.check_space(len(chunk))
        self.file.write(chunk)

    def check_size(self, expected: int | None) -> None:
        """Before the first byte: the announced size (Content-Length, FTP SIZE) within
        ``max_bytes`` and on the disk with ``min_free_bytes`` to spare."""
        if expected is not None and expected > self.policy.max_bytes:
            raise TransferError(FailureKind.TOO_LARGE, f"announced {expected} bytes")
        self.check_space(expected or 0)

    def check_space(self, more: int) -> None:
        """Raise NO_SPACE unless ``more`` bytes still fit with ``min_free_bytes`` left."""
        check_free_space(self.part.parent, more, self.policy.min_free_bytes)

    def finish(self, dest: Path, expected: int | None) -> int:
        if expected is not None and self.written != expected:
            raise TransferError(FailureKind.TRUNCATED,
                                f"got {self.written} of {expected} bytes")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.part, dest)
        return self.written

    def abort(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()


_SPACE_CHECK_EVERY = 4 * 1024 * 1024  # while a file of unknown size is written


def check_free_space(directory: Path, size: int, margin: int) -> None:
    """Raise ``TransferError(NO_SPACE)`` unless ``size`` bytes fit in ``directory``'s file
    system with ``margin`` bytes left over."""
    free = shutil.disk_usage(directory).free
    if size + margin > free:
        raise TransferError(FailureKind.NO_SPACE, (
            f"{directory} has {free} bytes free; the file needs {size} bytes"
            f" + {margin} bytes kept free for the station"))


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never from https to anything else."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: Any, newurl: str) -> urllib.request.Request | None:
        if req.full_url.lower().startswith("https:") and not newurl.lower().startswith("https:"):
            raise TransferError(FailureKind.TLS, "https redirected to a non-https URL")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def http_opener(loc: Location, policy: TransferPolicy) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoDowngrade()]
    if loc.scheme == "https":
        handlers.append(urllib.request.HTTPSHandler(context=policy.tls_context()))
    return urllib.request.build_opener(*handlers)


def http_headers(loc: Location) -> dict[str, str]:
    headers = {"User-Agent": "chargepoint"}
    if loc.user is not None:
        token = base64.b64encode(f"{loc.user}:{loc.password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def http_url(loc: Location) -> str:
    """The URL without userinfo (credentials travel in the Authorization header)."""
    parts = urllib.parse.urlsplit(loc.url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class _FtpTls(ftplib.FTP_TLS):
    """FTPS whose data connections resume the control connection's TLS session: servers such
    as vsftpd (``require_ssl_reuse``, the default) refuse data channels that do not."""

    def ntransfercmd(self, cmd: str,
                     rest: int | str | None = None) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            session = self.sock.session if isinstance(self.sock, ssl.SSLSocket) else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


def ftp_connect(loc: Location, policy: TransferPolicy) -> ftplib.FTP:
    """Logged-in FTP/FTPS control connection in passive mode (data channel protected)."""
    ftp: ftplib.FTP
    if loc.scheme == "ftps":
        ftp = _FtpTls(context=policy.tls_context(), timeout=policy.idle_timeout_s)
    else:
        ftp = ftplib.FTP(timeout=policy.idle_timeout_s)
    ftp.connect(loc.host, loc.port or 21)
    ftp.login(loc.user or "anonymous", loc.password or "anonymous@")
    if isinstance(ftp, ftplib.FTP_TLS):
        ftp.prot_p()
    ftp.set_pasv(True)
    return ftp


def ftp_path(loc: Location) -> str:
    # RFC 1738 3.2.2: the URL path is relative to the login directory.
    return loc.path.lstrip("/")


def classify(exc: BaseException, loc: Location) -> TransferError:
    """Map a library exception to a ``TransferError`` (never mentions the password)."""
    if isinstance(exc, TransferError):
        return exc
    where = loc.safe
    if isinstance(exc, urllib.error.HTTPError):
        kind = {404: FailureKind.NOT_FOUND, 410: FailureKind.NOT_FOUND,
                401: FailureKind.PERMISSION, 403: FailureKind.PERMISSION}.get(
                    exc.code, FailureKind.OTHER)
        return TransferError(kind, f"HTTP {exc.code} from {where}")
    if isinstance(exc, urllib.error.URLError):
        return classify(exc.reason, loc) if isinstance(exc.reason, BaseException) else (
            TransferError(FailureKind.OTHER, f"{exc.reason} ({where})"))
    if isinstance(exc, ftplib.error_perm):
        text = str(exc)
        kind = (FailureKind.PERMISSION if text.startswith("530") else FailureKind.NOT_FOUND
                if text.startswith("550") else FailureKind.OTHER)
        return TransferError(kind, f"FTP {text[:80]} ({where})")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TransferError(FailureKind.TLS, f"TLS: {exc} ({where})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransferError(FailureKind.TIMEOUT, f"no data for a while ({where})")
    if isinstance(exc, http.client.IncompleteRead):
        return TransferError(FailureKind.TRUNCATED, f"connection closed early ({where})")
    if isinstance(exc, ConnectionRefusedError | socket.gaierror | ConnectionResetError
                  | OSError) and not isinstance(exc, ftplib.Error):
        if isinstance(exc, ConnectionResetError):
            return TransferError(FailureKind.TRUNCATED, f"connection reset ({where})")
        return TransferError(FailureKind.REFUSED, f"{exc.__class__.__name__}: {exc} ({where})")
    return TransferError(FailureKind.OTHER, f"{exc.__class__.__name__}: {exc} ({where})")


def _http_get(loc: Location, sink: _Sink) -> int | None:
    request = urllib.request.Request(http_url(loc), headers=http_headers(loc))
    with http_opener(loc, sink.policy).open(request, timeout=sink.policy.idle_timeout_s) as r:
        length = r.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        sink.check_size(expected)
        while chunk := r.read1(sink.policy.chunk_size):
            sink.write(chunk)
        return expected


def _ftp_get(loc: Location, sink: _Sink) -> int | None:
    ftp = ftp_connect(loc, sink.policy)
    try:
        path = ftp_path(loc)
        try:
            ftp.voidcmd("TYPE I")  # SIZE is only defined in binary mode (RFC 3659 4)
            expected: int | None = ftp.size(path)
        except (ftplib.error_perm, ftplib.error_temp, ftplib.error_reply):
            expected = None  # SIZE unsupported: rely on the transfer's own end
        sink.check_size(expected)
        ftp.retrbinary(f"RETR {path}", sink.write, blocksize=sink.policy.chunk_size)
        with contextlib.suppress(Exception):
            ftp.quit()
        return expected
    finally:
        ftp.close()


def _get(loc: Location, dest: Path, policy: TransferPolicy, cancel: threading.Event) -> int:
    try:
        sink = _Sink(dest, policy, cancel)
    except OSError as exc:
        raise TransferError(FailureKind.OTHER, f"cannot write {dest.name}: {exc}") from None
    try:
        expected = (_http_get if loc.scheme in ("http", "https") else _ftp_get)(loc, sink)
        return sink.finish(dest, expected)
    except BaseException as exc:
        sink.abort()
        raise classify(exc, loc) from None


async def run_cancellable(fn: Callable[[threading.Event], _T]) -> _T:
    """Run blocking ``fn(cancel)`` in a thread; on task cancellation set ``cancel`` (the
    thread stops at its next chunk) and re-raise."""
    cancel = threading.Event()
    try:
        return await asyncio.to_thread(fn, cancel)
    except asyncio.CancelledError:
        cancel.set()
        raise


async def download(url: str, dest: Path, *, policy: TransferPolicy | None = None) -> int:
    """Fetch ``url`` into ``dest`` (see the module docstring). Returns the byte count."""
    loc = parse_location(url)
    pol = policy or TransferPolicy()
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    size = await run_cancellable(lambda cancel: _get(loc, dest, pol, cancel))
    LOG.info("downloaded %d bytes from %s", size, loc.safe)
    return size


_NOT_RETRIED = (FailureKind.BAD_URL, FailureKind.UNSUPPORTED, FailureKind.NO_SPACE)


async def with_retries(
    op: Callable[[], Awaitable[_T]],
    attempts: int,
    interval_s: float,
    *,
    on_failure: Callable[[int, TransferError], None] | None = None,
) -> _T:
    """Run ``op`` up to ``attempts`` times (at least once), ``interval_s`` apart, until it
    succeeds. Bad URLs, unsupported schemes and a full disk are not retried. Raises the last
    error."""
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        try:
            return await op()
        except TransferError as exc:
            if on_failure is not None:
                on_failure(attempt, exc)
            if attempt == attempts or exc.kind in _NOT_RETRIED:
                raise
            LOG.warning("transfer attempt %d of %d failed (%s): retry in %.0f s", attempt,
                        attempts, exc, interval_s)
            await asyncio.sleep(interval_s)
    raise AssertionError("unreachable")
