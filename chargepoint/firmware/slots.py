"""Release slots: ``<releases_dir>/<version>/`` beside each other, ``current`` -> the one to run.

Contract: ``Slots(releases_dir)``. ``current()`` is the slot ``current`` points at (None when
there is no link yet: a development install). ``switch(slot)`` points ``current`` at ``slot``
atomically: a new relative symlink under a temporary name, then ``os.replace`` over
``current`` (rename(2) is atomic), then the directory is fsynced so the switch survives a
power cut. ``prune(keep)`` removes old slots. The service unit runs
``<releases_dir>/current/bin/chargepoint``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CURRENT = "current"


class Slots:
    def __init__(self, releases_dir: Path) -> None:
        self.root = releases_dir

    @property
    def link(self) -> Path:
        return self.root / CURRENT

    def slot(self, version: str) -> Path:
        """The directory of ``version`` (already validated by ``release.parse_manifest``)."""
        if "/" in version or version in ("", ".", "..", CURRENT):
            raise ValueError(f"bad slot name {version!r}")
        return self.root / version

    def current(self) -> Path | None:
        try:
            target = os.readlink(self.link)
        except (FileNotFoundError, OSError):
            return None
        return (self.root / target) if not os.path.isabs(target) else Path(target)

    def prune(self, keep: set[Path]) -> list[str]:
        """Delete every slot directory except ``current``'s target and ``keep`` (the previous
        release stays for a manual rollback). Returns the names removed."""
        current = self.current()
        kept = {p.resolve() for p in keep | ({current} if current else set())}
        removed: list[str] = []
        for path in sorted(self.root.iterdir()):
            if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
                continue
            if path.resolve() not in kept:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed

    def switch(self, slot: Path) -> None:
        if not slot.is_dir():
            raise FileNotFoundError(f"no slot at {slot}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{CURRENT}.{os.getpid()}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        target = slot.name if slot.parent.resolve() == self.root.resolve() else str(slot)
        os.symlink(target, tmp)
        os.replace(tmp, self.link)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
