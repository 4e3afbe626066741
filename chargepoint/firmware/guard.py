"""Boot guard: rolls back a release that cannot even start (stdlib only, no chargepoint import).

A new release that fails at import time never runs ``health.BootGuard``; systemd would restart
it forever. So the manager copies this file to ``<releases_dir>/boot-guard.py`` (outside every
slot, written by the release that is known to work) and the service runs it first::

    ExecStartPre=/usr/bin/python3 <releases_dir>/boot-guard.py <releases_dir> <state.db>

Each start during a trial counts one attempt (in the ``firmware.pending`` record of the store's
``kv`` table). More than ``--max-attempts`` starts, or the deadline passed: ``current`` goes
back to the previous slot (atomic symlink switch) and the record becomes ``rolled_back``; the
previous release then reports InstallationFailed once registered. Exit status is always 0 so
that the service starts (into whichever slot ``current`` names).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

KEY = "firmware.pending"


def _switch(releases: Path, slot: Path) -> None:
    tmp = releases / f".current.{os.getpid()}.guard"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    target = slot.name if slot.parent.resolve() == releases.resolve() else str(slot)
    os.symlink(target, tmp)
    os.replace(tmp, releases / "current")
    fd = os.open(releases, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def guard(releases: Path, db: Path, max_attempts: int = 3, now: float | None = None) -> str:
    """One service start. Returns "none", "trial" or "rolled_back"."""
    if not db.exists():
        return "none"
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (KEY,)).fetchone()
            if row is None:
                return "none"
            pending = json.loads(row[0])
            if pending.get("phase") != "trial" or pending.get("kind", "slot") != "slot":
                return "none"
            attempts = int(pending.get("boot_attempts", 0)) + 1
            pending["boot_attempts"] = attempts
            expired = (now if now is not None else time.time()) > float(pending["deadline"])
            previous = pending.get("previous")
            result = "trial"
            if (attempts > max_attempts or expired) and previous and Path(previous).is_dir():
                _switch(releases, Path(previous))
                pending["phase"] = "rolled_back"
                result = "rolled_back"
            conn.execute("UPDATE kv SET value = ? WHERE key = ?", (json.dumps(pending), KEY))
            return result
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("releases", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--max-attempts", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        result = guard(args.releases, args.db, args.max_attempts)
    except Exception as exc:  # never keep the service from starting
        print(f"boot-guard: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 0
    if result != "none":
        print(f"boot-guard: {result}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
