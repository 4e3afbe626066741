"""The release archive of this controller, and its verification before anything runs.

Format: a ``.tar.gz`` holding ``manifest.json`` at its top level and the files it lists::

    {"name": "chargepoint", "version": "1.4.0", "python": ">=3.11",
     "install": "chargepoint-1.4.0-py3-none-any.whl",
     "files": [{"name": "chargepoint-1.4.0-py3-none-any.whl", "sha256": "<hex>"}, ...]}

``install`` names the wheel (or sdist) to install; the other files are its dependencies
(installed offline from the same directory). Contract: ``unpack_release(archive, staging)``
reads the manifest, checks name, version syntax (it becomes a directory name), the Python
requirement, and extracts ONLY the listed regular files under their base names into
``staging`` while hashing them; returns a ``Release`` or raises ``ReleaseError``. Nothing in
the archive is executed or written under a path taken from the archive.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
_MAX_MANIFEST = 64 * 1024
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$")
_FILE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,200}\.(whl|tar\.gz|zip)$")
_SPEC_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*$")


class ReleaseError(Exception):
    """The archive is not a valid release for this station (never install it)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    name: str
    version: str
    python: str
    install: str
    files: dict[str, str]  # base name -> sha256 hex


@dataclass(frozen=True, slots=True)
class Release:
    manifest: Manifest
    directory: Path  # staging directory with the verified files

    @property
    def install_file(self) -> Path:
        return self.directory / self.manifest.install


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def python_satisfies(spec: str, version: tuple[int, ...] | None = None) -> bool:
    """Does ``version`` (default: this interpreter) meet ``spec`` like ``">=3.11,<4"``?
    Raises ``ReleaseError`` on a clause it does not understand."""
    have = version or tuple(sys.version_info[:3])
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = _SPEC_RE.match(clause)
        if match is None:
            raise ReleaseError(f"unsupported python requirement {clause!r}")
        op, want_text = match.groups()
        want = _version_tuple(want_text)
        mine = have[: len(want)]
        ok = {">=": mine >= want, "<=": mine <= want, "==": mine == want,
              "!=": mine != want, ">": mine > want, "<": mine < want}[op]
        if not ok:
            return False
    return True


def parse_manifest(data: bytes, expected_name: str) -> Manifest:
    try:
        raw: Any = json.loads(data)
        files = {str(f["name"]): str(f["sha256"]).lower() for f in raw["files"]}
        manifest = Manifest(str(raw["name"]), str(raw["version"]), str(raw.get("python", "")),
                            str(raw["install"]), files)
    except (ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"bad manifest: {exc!r}") from None
    if manifest.name != expected_name:
        raise ReleaseError(f"release is {manifest.name!r}, not {expected_name!r}")
    if not _VERSION_RE.match(manifest.version) or manifest.version in ("current",):
        raise ReleaseError(f"bad version {manifest.version!r}")
    for name, digest in files.items():
        if not _FILE_RE.match(name) or ".." in name:
            raise ReleaseError(f"bad file name in manifest: {name!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ReleaseError(f"bad sha256 for {name}")
    if manifest.install not in files:
        raise ReleaseError(f"install file {manifest.install!r} is not listed in files")
    if manifest.python and not python_satisfies(manifest.python):
        raise ReleaseError(f"needs python {manifest.python}, this is {sys.version.split()[0]}")
    return manifest


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    for candidate in (name, f"./{name}"):
        try:
            info = tar.getmember(candidate)
        except KeyError:
            continue
        if not info.isreg():
            raise ReleaseError(f"{name} is not a regular file in the archive")
        return info
    raise ReleaseError(f"{name} is missing from the archive")


# The listed files are staged, then installed into a venv that takes about twice their
# (compressed) size: room for three times their size is asked for before extracting.
INSTALL_SPACE_FACTOR = 3


def unpack_release(archive: Path, staging: Path, *, expected_name: str = "chargepoint",
                   max_bytes: int = 512 * 1024 * 1024, min_free_bytes: int = 0) -> Release:
    """Verify and extract a release (see the module docstring). Before extracting, the file
    system of ``staging`` must hold ``INSTALL_SPACE_FACTOR`` times the listed files' size
    with ``min_free_bytes`` to spare (else ``ReleaseError``, nothing written)."""
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            info = _member(tar, MANIFEST)
            if info.size > _MAX_MANIFEST:
                raise ReleaseError("manifest too large")
            handle = tar.extractfile(info)
            assert handle is not None
            manifest = parse_manifest(handle.read(), expected_name)
            members = {name: _member(tar, name) for name in manifest.files}
            total = sum(info.size for info in members.values())
            if total > max_bytes:
                raise ReleaseError("release content too large")
            _check_space(staging, total * INSTALL_SPACE_FACTOR, min_free_bytes)
            for name, digest in manifest.files.items():
                src = tar.extractfile(members[name])
                assert src is not None
                h = hashlib.sha256()
                with open(staging / name, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        h.update(chunk)
                        out.write(chunk)
                if h.hexdigest() != digest:
                    raise ReleaseError(f"sha256 mismatch for {name}")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ReleaseError(f"unreadable archive: {exc}") from None
    return Release(manifest, staging)


def _check_space(directory: Path, needed: int, margin: int) -> None:
    free = shutil.disk_usage(directory).free
    if needed + margin > free:
        raise ReleaseError(f"not enough disk space to install: {free} bytes free in "
                           f"{directory}, {needed} needed + {margin} kept free for the station")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()
