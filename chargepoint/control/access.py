"""Who may ask the controller what over the control socket (docs/security.md, "Local access").

Two levels above none: READ (look: status, meter, selftest, ocpp ping) for members of
``[control] group``, TECHNICIAN (change things or touch customers' data: relay, fault clear,
rfid read, sim, logs, commission) for members of ``[control] technician_group``. Root and the
service's own user may do everything. A peer is identified by the kernel (``SO_PEERCRED``: uid,
gid), its groups are its primary gid plus the supplementary groups the user database gives its
uid.

Contract: ``AccessPolicy.for_groups(read_group, technician_group)`` builds the policy of a
running controller; ``peer_of(sock)`` reads a connected Unix socket's peer (blocking: NSS
lookups); ``policy.level(peer)`` and ``refusal(cmd, level, peer)`` decide.
"""

from __future__ import annotations

import enum
import grp
import logging
import os
import pwd
import socket
import struct
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Level(enum.IntEnum):
    NONE = 0
    READ = 1
    TECHNICIAN = 2


# Every command of ``protocol.COMMANDS`` and the level it needs (a test keeps them in step).
REQUIRED: dict[str, Level] = {
    "ping": Level.READ,
    "status": Level.READ,
    "meter": Level.READ,
    "selftest": Level.READ,  # reads every part; changes nothing
    "ocpp_ping": Level.READ,  # one Heartbeat
    "logs": Level.TECHNICIAN,  # log lines may carry card UIDs and OCPP frames
    "fault_clear": Level.TECHNICIAN,
    "relay": Level.TECHNICIAN,
    "rfid_read": Level.TECHNICIAN,  # takes a customer's card tap and shows its UID
    "sim": Level.TECHNICIAN,
    "commission": Level.TECHNICIAN,  # the report holds the test card's UID; drives the bench
}
DEFAULT_TECHNICIAN_GROUP = "chargepoint-tech"


@dataclass(frozen=True, slots=True)
class Peer:
    """The process at the other end of a connection."""

    pid: int
    uid: int
    gid: int
    groups: frozenset[int]  # gid and the supplementary groups of uid
    user: str  # the user name, or "uid N" when the user database does not know it


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """``full_uids`` may do everything; ``read_gids`` / ``technician_gids``: members get that
    level; the names are for messages."""

    full_uids: frozenset[int]
    read_gids: frozenset[int]
    technician_gids: frozenset[int]
    read_group: str = "?"
    technician_group: str = "?"

    @classmethod
    def for_groups(cls, read_group: str | None,
                   technician_group: str | None = DEFAULT_TECHNICIAN_GROUP) -> AccessPolicy:
        """The policy of a controller running as this process: root and our own user are
        full; ``read_group`` None means our own group. A technician group that does not exist
        leaves technician commands to root and the service user (logged)."""
        if read_group is None:
            read_gid = os.getegid()
            read_name = _group_name(read_gid)
        else:
            read_gid = grp.getgrnam(read_group).gr_gid
            read_name = read_group
        technicians: frozenset[int] = frozenset()
        if technician_group:
            try:
                technicians = frozenset({grp.getgrnam(technician_group).gr_gid})
            except KeyError:
                log.warning("technician group %r does not exist: only root and the service "
                            "user may use technician commands (relay, fault clear, rfid read, "
                            "sim, logs, commission)", technician_group)
        return cls(full_uids=frozenset({0, os.geteuid()}), read_gids=frozenset({read_gid}),
                   technician_gids=technicians, read_group=read_name,
                   technician_group=technician_group or "(none)")

    def level(self, peer: Peer) -> Level:
        if peer.uid in self.full_uids:
            return Level.TECHNICIAN
        if peer.groups & self.technician_gids:
            return Level.TECHNICIAN
        if peer.groups & self.read_gids:
            return Level.READ
        return Level.NONE

    def refusal(self, cmd: str, level: Level, peer: Peer) -> str | None:
        """None when ``level`` may run ``cmd``, else the one-line reason."""
        needed = REQUIRED.get(cmd, Level.TECHNICIAN)  # unknown: the strictest
        if level >= needed:
            return None
        if needed is Level.TECHNICIAN:
            return (f"not allowed: {cmd} is a technician command; {peer.user} is not in group "
                    f"{self.technician_group}")
        return (f"not allowed: {peer.user} is in neither group {self.read_group} nor "
                f"{self.technician_group}")


def redact(cmd: str, result: Any, level: Level) -> Any:
    """What a READ-level peer is shown: ``status`` without whole card UIDs (a UID is all it
    takes to copy a card); the last 4 characters stay so that sessions can be told apart."""
    if level >= Level.TECHNICIAN or cmd != "status" or not isinstance(result, dict):
        return result
    connectors = []
    for conn in result.get("connectors", []):
        tx = conn.get("transaction") if isinstance(conn, dict) else None
        if isinstance(tx, dict) and isinstance(tx.get("id_tag"), str):
            tag = tx["id_tag"]
            conn = {**conn, "transaction": {**tx, "id_tag": "*" * max(0, len(tag) - 4)
                                            + tag[-4:]}}
        connectors.append(conn)
    return {**result, "connectors": connectors}


class _Socket(Protocol):
    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...


def peer_of(sock: _Socket) -> Peer:
    """The kernel's credentials of ``sock``'s peer plus its uid's groups (blocking)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    groups = {gid}
    try:
        user = pwd.getpwuid(uid).pw_name
        groups.update(os.getgrouplist(user, gid))
    except KeyError:
        user = f"uid {uid}"
    return Peer(pid, uid, gid, frozenset(groups), user)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"
