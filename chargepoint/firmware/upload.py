"""Bounded file uploads: FTP / FTPS (passive, STOR) and HTTP(S) PUT or POST (stdlib, thread).

Contract: ``await upload(url, path, policy=..., method="PUT")`` sends the local file ``path``
and returns the remote name used, or raises ``download.TransferError``. When the URL's path is
empty or ends with ``/`` (a directory, as OCPP GetDiagnostics locations usually are), the
file's own name is appended. POST sends ``multipart/form-data`` with one part ``file``.
"""

from __future__ import annotations

import contextlib
import ftplib
import logging
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from chargepoint.firmware.download import (
    FailureKind,
    Location,
    TransferError,
    TransferPolicy,
    classify,
    ftp_connect,
    ftp_path,
    http_headers,
    http_opener,
    http_url,
    parse_location,
    run_cancellable,
)

LOG = logging.getLogger("chargepoint.firmware")


def _target(loc: Location, name: str) -> Location:
    if loc.path and not loc.path.endswith("/"):
        return loc
    quoted = urllib.parse.quote(name)
    parts = urllib.parse.urlsplit(loc.url)
    url = urllib.parse.urlunsplit(parts._replace(path=(parts.path or "/") + quoted))
    return Location(loc.scheme, loc.host, loc.port, (loc.path or "/") + name, loc.user,
                    loc.password, url)


def _http_put(loc: Location, path: Path, policy: TransferPolicy, method: str) -> None:
    headers = http_headers(loc)
    if method == "POST":
        boundary = uuid.uuid4().hex
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{path.name}\"\r\nContent-Type: application/gzip\r\n\r\n").encode()
        body = head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        data: bytes = body
    else:
        headers["Content-Type"] = "application/gzip"
        data = path.read_bytes()
    request = urllib.request.Request(http_url(loc), data=data, headers=headers, method=method)
    with http_opener(loc, policy).open(request, timeout=policy.idle_timeout_s) as response:
        response.read(1024)


def _ftp_put(loc: Location, path: Path, policy: TransferPolicy, cancel: threading.Event) -> None:
    deadline = time.monotonic() + policy.timeout_s

    def progress(_block: bytes) -> None:
        if cancel.is_set():
            raise TransferError(FailureKind.CANCELLED, "cancelled")
        if time.monotonic() > deadline:
            raise TransferError(FailureKind.TIMEOUT, f"not done within {policy.timeout_s} s")

    ftp = ftp_connect(loc, policy)
    try:
        with path.open("rb") as f:
            ftp.storbinary(f"STOR {ftp_path(loc)}", f, blocksize=policy.chunk_size,
                           callback=progress)
        with contextlib.suppress(ftplib.Error):
            ftp.quit()
    finally:
        ftp.close()


def _put(loc: Location, path: Path, policy: TransferPolicy, method: str,
         cancel: threading.Event) -> None:
    if path.stat().st_size > policy.max_bytes:
        raise TransferError(FailureKind.TOO_LARGE, f"{path.name} is over {policy.max_bytes} B")
    try:
        if loc.scheme in ("http", "https"):
            _http_put(loc, path, policy, method)
        else:
            _ftp_put(loc, path, policy, cancel)
    except BaseException as exc:
        raise classify(exc, loc) from None


async def upload(url: str, path: Path, *, policy: TransferPolicy | None = None,
                 method: str = "PUT") -> str:
    """Upload ``path`` to ``url`` (see the module docstring). Returns the remote URL (safe)."""
    if method not in ("PUT", "POST"):
        raise ValueError(f"HTTP upload method must be PUT or POST, not {method!r}")
    loc = _target(parse_location(url), path.name)
    pol = policy or TransferPolicy()
    await run_cancellable(lambda cancel: _put(loc, path, pol, method, cancel))
    LOG.info("uploaded %s to %s", path.name, loc.safe)
    return loc.safe
