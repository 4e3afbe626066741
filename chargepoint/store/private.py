"""The store's files are the service user's alone (mode 0600): they hold card UIDs, the
OCPP AuthorizationKey and the security log (docs/security.md)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(path: str | Path) -> None:
    """Create the database file ``path`` with mode 0600 if it is missing, and take group and
    other permissions away from it and its side files. SQLite creates -wal / -shm with the
    database file's mode, so they follow. A file we cannot change (not ours) is logged."""
    db = Path(path)
    with contextlib.suppress(OSError):  # exists already, or sqlite will say why it cannot
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE))
    for file in (db, *(db.with_name(db.name + suffix) for suffix in _SIDE_FILES)):
        try:
            st = os.stat(file)
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
                os.chmod(file, stat.S_IMODE(st.st_mode) & 0o700)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot make %s private (mode 0600): %s", file, exc)
