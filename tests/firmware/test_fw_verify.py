"""Signing certificate / signature checks and release archive verification."""

from __future__ import annotations

import datetime as dt
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from chargepoint.firmware.release import ReleaseError, python_satisfies, unpack_release
from chargepoint.firmware.signature import (
    InvalidCertificate,
    InvalidSignature,
    load_roots,
    verify_file_signature,
    verify_signing_certificate,
)
from chargepoint.firmware.slots import Slots
from tests.firmware.fw_helpers import NOW, Pki, install_root, make_cert, make_release

DATA = b"firmware image" * 100


@pytest.fixture(scope="module")
def root() -> Pki:
    return make_cert("Manufacturer Root", None, ca=True)


@pytest.mark.parametrize("ec_key", [False, True])
def test_good_signature(tmp_path: Path, root: Pki, ec_key: bool) -> None:
    signer = make_cert("fw signer", root, ca=False, ec_key=ec_key)
    install_root(tmp_path / "roots", root)
    (tmp_path / "fw").write_bytes(DATA)
    cert = verify_signing_certificate(signer.pem, load_roots(tmp_path / "roots"), NOW)
    verify_file_signature(cert, tmp_path / "fw", signer.sign(DATA))


def test_wrong_signature(tmp_path: Path, root: Pki) -> None:
    signer = make_cert("fw signer", root, ca=False)
    (tmp_path / "fw").write_bytes(DATA)
    with pytest.raises(InvalidSignature):
        verify_file_signature(signer.cert, tmp_path / "fw", signer.sign(DATA + b"x"))
    with pytest.raises(InvalidSignature):
        verify_file_signature(signer.cert, tmp_path / "fw", "not base64!")


def test_chain_through_an_intermediate(root: Pki) -> None:
    inter = make_cert("Intermediate", root, ca=True)
    signer = make_cert("fw signer", inter, ca=False)
    cert = verify_signing_certificate(signer.pem + inter.pem, [root.cert], NOW)
    assert cert == signer.cert


def test_wrong_certificates(root: Pki) -> None:
    roots = [root.cert]
    other_root = make_cert("Someone else", None, ca=True)
    with pytest.raises(InvalidCertificate, match="installed root"):
        verify_signing_certificate(make_cert("s", other_root, ca=False).pem, roots, NOW)
    with pytest.raises(InvalidCertificate, match="expired"):
        verify_signing_certificate(make_cert("s", root, ca=False, start_days=-30,
                                             days=10).pem, roots, NOW)
    leaf = make_cert("leaf", root, ca=False)
    with pytest.raises(InvalidCertificate, match="broken"):  # a non-CA cannot issue
        verify_signing_certificate(make_cert("s", leaf, ca=False).pem + leaf.pem, roots, NOW)
    with pytest.raises(InvalidCertificate, match="no manufacturer root"):
        verify_signing_certificate(leaf.pem, [], NOW)
    with pytest.raises(InvalidCertificate, match="unreadable"):
        verify_signing_certificate("garbage", roots, NOW)
    later = NOW + dt.timedelta(days=400)
    with pytest.raises(InvalidCertificate):
        verify_signing_certificate(leaf.pem, roots, later)


def test_release_unpacks_only_listed_files(tmp_path: Path) -> None:
    archive = tmp_path / "r.tar.gz"
    archive.write_bytes(make_release("1.4.0", extra={"../../evil.sh": b"rm -rf /"}))
    release = unpack_release(archive, tmp_path / "staging")
    assert release.manifest.version == "1.4.0"
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == [
        "chargepoint-1.4.0-py3-none-any.whl"]
    assert not (tmp_path.parent / "evil.sh").exists()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tamper": True}, "sha256 mismatch"),
    ({"name": "other"}, "not 'chargepoint'"),
    ({"python": ">=9.0"}, "needs python"),
    ({"wheel_name": "../x.whl"}, "bad file name"),
])
def test_release_rejected(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    archive = tmp_path / "r.tar.gz"
    archive.write_bytes(make_release("1.4.0", **kwargs))
    with pytest.raises(ReleaseError, match=match):
        unpack_release(archive, tmp_path / "staging")


def test_release_bad_version_and_garbage(tmp_path: Path) -> None:
    archive = tmp_path / "r.tar.gz"
    archive.write_bytes(make_release("../../etc"))
    with pytest.raises(ReleaseError, match="bad version"):
        unpack_release(archive, tmp_path / "s")
    archive.write_bytes(b"not a tarball")
    with pytest.raises(ReleaseError, match="unreadable"):
        unpack_release(archive, tmp_path / "s")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    archive.write_bytes(buf.getvalue())
    with pytest.raises(ReleaseError, match="not a regular file"):
        unpack_release(archive, tmp_path / "s")


def test_python_requirement() -> None:
    assert python_satisfies(">=3.11,<4", (3, 11, 7))
    assert not python_satisfies(">=3.12", (3, 11, 7))
    assert python_satisfies("==3.11", (3, 11, 7))
    with pytest.raises(ReleaseError):
        python_satisfies("~=3.11", (3, 11, 7))


def test_slot_switch_is_a_relative_symlink(tmp_path: Path) -> None:
    slots = Slots(tmp_path)
    assert slots.current() is None
    for version in ("1.0", "1.1"):
        slots.slot(version).mkdir()
        slots.switch(slots.slot(version))
        assert slots.current() == tmp_path / version
    assert (tmp_path / "current").readlink() == Path("1.1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.0", "1.1", "current"]
    with pytest.raises(ValueError):
        slots.slot("../x")
