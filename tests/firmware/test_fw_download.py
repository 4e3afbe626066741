"""download / upload against real HTTP and FTP servers on 127.0.0.1 (port 0)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chargepoint.firmware.download import (
    FailureKind,
    TransferError,
    TransferPolicy,
    download,
    parse_location,
    safe_url,
    with_retries,
)
from chargepoint.firmware.upload import upload
from tests.firmware.fw_helpers import Route, ftp_peer, http_peer, refused_port, server_tls

FAST = TransferPolicy(timeout_s=10, idle_timeout_s=0.5)
BODY = bytes(range(256)) * 400  # 100 KiB


async def test_http_download_streams_to_the_fixed_name(tmp_path: Path) -> None:
    with http_peer() as peer:
        peer.routes["/fw/../../etc/passwd"] = Route(BODY)
        dest = tmp_path / "private" / "firmware.bin"
        size = await download(peer.url("/fw/../../etc/passwd"), dest, policy=FAST)
    assert size == len(BODY)
    assert dest.read_bytes() == BODY
    assert sorted(p.name for p in dest.parent.iterdir()) == ["firmware.bin"]  # no .part left
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700


async def test_http_chunked_download(tmp_path: Path) -> None:
    with http_peer() as peer:
        peer.routes["/fw"] = Route(BODY, mode="chunked")
        assert await download(peer.url("/fw"), tmp_path / "f", policy=FAST) == len(BODY)


@pytest.mark.parametrize(("route", "kind"), [
    (None, FailureKind.NOT_FOUND),
    (Route(BODY, mode="truncated"), FailureKind.TRUNCATED),
    (Route(BODY, mode="slow"), FailureKind.TIMEOUT),
    (Route(BODY, status=403), FailureKind.PERMISSION),
])
async def test_http_failures(tmp_path: Path, route: Route | None, kind: FailureKind) -> None:
    with http_peer() as peer:
        if route is not None:
            peer.routes["/fw"] = route
        with pytest.raises(TransferError) as err:
            await download(peer.url("/fw"), tmp_path / "f", policy=FAST)
    assert err.value.kind is kind
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


async def test_refused_connection(tmp_path: Path) -> None:
    with pytest.raises(TransferError) as err:
        await download(f"http://127.0.0.1:{refused_port()}/fw", tmp_path / "f", policy=FAST)
    assert err.value.kind is FailureKind.REFUSED


@pytest.mark.parametrize("mode", ["normal", "chunked"])
async def test_size_cap(tmp_path: Path, mode: str) -> None:
    with http_peer() as peer:
        peer.routes["/fw"] = Route(BODY, mode=mode)
        with pytest.raises(TransferError) as err:
            await download(peer.url("/fw"), tmp_path / "f",
                           policy=TransferPolicy(max_bytes=50_000, idle_timeout_s=2))
    assert err.value.kind is FailureKind.TOO_LARGE
    assert list(tmp_path.iterdir()) == []


def test_bad_locations() -> None:
    with pytest.raises(TransferError) as err:
        parse_location("file:///etc/shadow")
    assert err.value.kind is FailureKind.UNSUPPORTED
    with pytest.raises(TransferError) as err:
        parse_location("http:///nohost")
    assert err.value.kind is FailureKind.BAD_URL
    assert safe_url("ftp://u:pw@h/x") == "ftp://u:***@h/x"


async def test_retries_until_success(tmp_path: Path) -> None:
    with http_peer() as peer:
        peer.routes["/fw"] = Route(BODY, fail_first=2)
        failures: list[int] = []
        size = await with_retries(
            lambda: download(peer.url("/fw"), tmp_path / "f", policy=FAST), 3, 0,
            on_failure=lambda n, e: failures.append(n))
    assert size == len(BODY)
    assert failures == [1, 2]
    assert peer.hits["/fw"] == 3


async def test_retries_give_up(tmp_path: Path) -> None:
    with http_peer() as peer:
        peer.routes["/fw"] = Route(BODY, fail_first=5)
        with pytest.raises(TransferError):
            await with_retries(lambda: download(peer.url("/fw"), tmp_path / "f", policy=FAST),
                               2, 0)
    assert peer.hits["/fw"] == 2


async def test_ftp_download_and_size_cap(tmp_path: Path) -> None:
    with ftp_peer(tmp_path / "ftp") as peer:
        (peer.root / "fw.tar.gz").write_bytes(BODY)
        dest = tmp_path / "dl" / "firmware.bin"
        assert await download(peer.url("fw.tar.gz"), dest, policy=FAST) == len(BODY)
        assert dest.read_bytes() == BODY
        with pytest.raises(TransferError) as err:
            await download(peer.url("fw.tar.gz"), dest,
                           policy=TransferPolicy(max_bytes=1000, idle_timeout_s=2))
        assert err.value.kind is FailureKind.TOO_LARGE
        with pytest.raises(TransferError) as err:
            await download(peer.url("missing.bin"), dest, policy=FAST)
        assert err.value.kind is FailureKind.NOT_FOUND
        with pytest.raises(TransferError) as err:
            await download(peer.url("fw.tar.gz", password="wrong"), dest, policy=FAST)
        assert err.value.kind is FailureKind.PERMISSION
        assert "wrong" not in str(err.value)  # never a password in an error


async def test_ftp_upload_into_a_directory(tmp_path: Path) -> None:
    bundle = tmp_path / "diagnostics-CP-1.tar.gz"
    bundle.write_bytes(BODY)
    with ftp_peer(tmp_path / "ftp") as peer:
        (peer.root / "in").mkdir()
        where = await upload(peer.url("in/"), bundle, policy=FAST)
        assert (peer.root / "in" / bundle.name).read_bytes() == BODY
    assert "s3cret" not in where


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_http_upload(tmp_path: Path, method: str) -> None:
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(BODY)
    with http_peer() as peer:
        await upload(peer.url("/up/"), bundle, policy=FAST, method=method)
    [(verb, path, data, headers)] = peer.uploads
    assert (verb, path) == (method, "/up/b.tar.gz")
    if method == "PUT":
        assert data == BODY
    else:
        assert headers["Content-Type"].startswith("multipart/form-data")
        assert BODY in data and b'filename="b.tar.gz"' in data


async def test_http_upload_rejected(tmp_path: Path) -> None:
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(b"x")
    with http_peer() as peer:
        peer.upload_status = 401
        with pytest.raises(TransferError) as err:
            await upload(peer.url("/up/x.tgz"), bundle, policy=FAST)
    assert err.value.kind is FailureKind.PERMISSION


async def test_https_verifies_the_server(tmp_path: Path) -> None:
    ctx, ca_file = server_tls(tmp_path)
    with http_peer(ctx) as peer:
        peer.routes["/fw"] = Route(BODY)
        assert peer.url("/fw").startswith("https://")
        trusted = TransferPolicy(timeout_s=10, idle_timeout_s=2, ca_file=str(ca_file))
        assert await download(peer.url("/fw"), tmp_path / "dl" / "f", policy=trusted) == len(
            BODY)
        with pytest.raises(TransferError) as err:  # the system CAs do not know the test CA
            await download(peer.url("/fw"), tmp_path / "dl" / "f", policy=FAST)
    assert err.value.kind is FailureKind.TLS


async def test_ftps_download_and_upload(tmp_path: Path) -> None:
    """Explicit FTPS, passive, protected data channel, server verified against the CA."""
    _, ca_file = server_tls(tmp_path)
    policy = TransferPolicy(timeout_s=10, idle_timeout_s=2, ca_file=str(ca_file))
    bundle = tmp_path / "up.tar.gz"
    bundle.write_bytes(BODY)
    with ftp_peer(tmp_path / "ftp", certfile=tmp_path / "server.pem") as peer:
        (peer.root / "fw.bin").write_bytes(BODY)
        assert peer.url("fw.bin").startswith("ftps://")
        assert await download(peer.url("fw.bin"), tmp_path / "dl" / "f", policy=policy) == len(
            BODY)
        await upload(peer.url(""), bundle, policy=policy)
        assert (peer.root / "up.tar.gz").read_bytes() == BODY
        with pytest.raises(TransferError) as err:
            await download(peer.url("fw.bin"), tmp_path / "dl" / "f", policy=FAST)
    assert err.value.kind is FailureKind.TLS
