"""Install strategies for a verified update.

``Installer`` (Protocol): ``uses_slots`` True means the manager unpacks and verifies the
release archive (``release.unpack_release``) and the installer fills the new slot directory;
the manager then switches ``current``. ``uses_slots`` False means the downloaded file goes as
is to an OS-level updater (RAUC, SWUpdate, Mender) that owns its own A/B slots and signature.
``install`` raises ``InstallError`` (-> InstallationFailed) and never touches the running slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chargepoint.firmware.release import Release

LOG = logging.getLogger("chargepoint.firmware")


class InstallError(Exception):
    """Installation failed; the running slot is untouched."""


class Installer(Protocol):
    @property
    def uses_slots(self) -> bool: ...

    async def install(self, file: Path, release: Release | None, slot: Path | None) -> None:
        """Install. With slots: ``release`` and ``slot`` (must not exist yet) are given."""


async def run_command(argv: Sequence[str], timeout_s: float,
                      cwd: Path | None = None) -> tuple[int, str]:
    """Run ``argv`` (no shell); returns (exit status, combined output, last 4 KiB)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=cwd)
    except OSError as exc:
        raise InstallError(f"cannot run {argv[0]}: {exc}") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise InstallError(f"{argv[0]} did not finish within {timeout_s} s") from None
    text = out.decode(errors="replace")[-4096:]
    return proc.returncode if proc.returncode is not None else -1, text


@dataclass
class VenvInstaller:
    """A fresh venv in the slot (``python -m venv``), then an offline ``pip install`` of the
    release's wheel with its bundled dependency wheels, then an import smoke test."""

    python: str = sys.executable
    timeout_s: float = 900.0
    smoke_module: str = "chargepoint"
    uses_slots: bool = True

    async def install(self, file: Path, release: Release | None, slot: Path | None) -> None:
        if release is None or slot is None:
            raise InstallError("VenvInstaller needs a release and a slot")
        steps = [
            [self.python, "-m", "venv", str(slot)],
            [str(slot / "bin" / "python"), "-m", "pip", "install", "--no-index",
             "--find-links", str(release.directory), str(release.install_file)],
            # -I and cwd=slot: the import must come from the slot, not from a source tree
            # or PYTHONPATH that happens to be around.
            [str(slot / "bin" / "python"), "-I", "-c", f"import {self.smoke_module}"],
        ]
        for argv in steps:
            code, output = await run_command(argv, self.timeout_s,
                                             cwd=slot if slot.exists() else release.directory)
            if code != 0:
                shutil.rmtree(slot, ignore_errors=True)
                raise InstallError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} failed "
                                   f"({code}): {output.strip()[-300:]}")


@dataclass
class OsUpdaterInstaller:
    """Hands the downloaded file to an OS updater: ``command`` is an argv template where
    ``{file}`` is replaced by the file's path, e.g. ``["rauc", "install", "{file}"]``,
    ``["swupdate", "-i", "{file}"]`` or ``["mender", "install", "{file}"]``. Exit status in
    ``success_codes`` -> installed (the manager then restarts/reboots and waits for the health
    check); anything else, or output matching one of ``failure_markers``, -> InstallError.
    ``mark_good`` / ``rollback`` are argv run after a healthy boot / on a failed one (e.g.
    ``["rauc", "status", "mark-good"]``, ``["rauc", "status", "mark-bad", "booted"]``)."""

    command: list[str]
    success_codes: tuple[int, ...] = (0,)
    failure_markers: tuple[str, ...] = ()
    mark_good: list[str] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    timeout_s: float = 1800.0
    uses_slots: bool = False

    async def install(self, file: Path, release: Release | None, slot: Path | None) -> None:
        argv = [part.replace("{file}", str(file)) for part in self.command]
        code, output = await run_command(argv, self.timeout_s)
        LOG.info("OS updater %s exited %d: %s", argv[0], code, output.strip()[-500:])
        if code not in self.success_codes:
            raise InstallError(f"{argv[0]} exited {code}: {output.strip()[-300:]}")
        for marker in self.failure_markers:
            if marker in output:
                raise InstallError(f"{argv[0]} reported {marker!r}")

    async def run_hook(self, argv: list[str]) -> bool:
        if not argv:
            return True
        try:
            code, output = await run_command(argv, self.timeout_s)
        except InstallError as exc:
            LOG.error("%s", exc)
            return False
        if code != 0:
            LOG.error("%s exited %d: %s", argv[0], code, output.strip()[-300:])
        return code == 0
