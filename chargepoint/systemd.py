"""sd_notify helpers for ``Type=notify`` with ``WatchdogSec=`` (deploy/chargepoint.service).

Every function is a no-op returning False when the process was not started by systemd
(no ``NOTIFY_SOCKET``), so callers never need to check.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
from collections.abc import Callable
from typing import Any


@functools.cache
def _daemon() -> Any:
    """systemd-python's ``daemon`` module (the `systemd` extra), imported on the first
    notification (not by a station outside systemd); None without it: the fallback in
    ``notify`` speaks the same protocol."""
    try:
        from systemd import daemon
    except ImportError:  # pragma: no cover - depends on the installation
        return None
    return daemon


def under_systemd() -> bool:
    """True when systemd started this process (``INVOCATION_ID``) or stderr is the journal."""
    if os.environ.get("INVOCATION_ID"):
        return True
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    # JOURNAL_STREAM is "device:inode" of the journal stream stderr was connected to (systemd.exec).
    try:
        st = os.fstat(2)
    except OSError:
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


def notifying() -> bool:
    """A service manager listens (``NOTIFY_SOCKET``): ``notify`` is not a no-op."""
    return bool(os.environ.get("NOTIFY_SOCKET"))


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``) to the service manager; False if there is none."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    daemon = _daemon()
    if daemon is not None:
        return bool(daemon.notify(state))
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(state.encode(), address)
        except OSError:
            return False
    return True


def ready(text: str | None = None) -> bool:
    """Start-up finished: systemd marks the unit active (``Type=notify``)."""
    return notify("READY=1" + (f"\nSTATUS={text}" if text else ""))


def status(text: str) -> bool:
    """One line shown by ``systemctl status``."""
    return notify(f"STATUS={text}")


def watchdog() -> bool:
    """Tell the watchdog we are alive; call at least every ``watchdog_interval()`` seconds."""
    return notify("WATCHDOG=1")


def stopping() -> bool:
    """Shutdown has begun."""
    return notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """The watchdog period in seconds (``WATCHDOG_USEC``), None when no watchdog is armed."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


async def run_watchdog(healthy: Callable[[], bool] | None = None) -> None:
    """Ping the watchdog at half its period while ``healthy()`` holds; forever.

    Returns at once when no watchdog is armed. When ``healthy()`` is False the ping is
    skipped, so systemd restarts a controller whose control loop has stalled.
    """
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        if healthy is None or healthy():
            watchdog()
        await asyncio.sleep(interval / 2)
