"""SendLocalList and GetLocalListVersion (OCPP 1.6 sections 3.5.2, 5.10, 5.15, 6.27, 6.41-6.42).

API (for the handlers):

- ``get_local_list_version(store, config) -> int``: GetLocalListVersion.conf ``listVersion``.
- ``send_local_list(store, config, *, list_version, update_type, entries) -> UpdateStatus``:
  SendLocalList.conf ``status`` ("Accepted" | "Failed" | "NotSupported" | "VersionMismatch").
  ``entries``: ``localAuthorizationList`` as received (None when omitted); each entry in wire
  form (``idTag``, ``idTagInfo{status, expiryDate, parentIdTag}``) or the snake_case form the
  ``ocpp`` library hands to handlers (``id_tag``, ``id_tag_info{...}``).

``store``: anything with ``local_list_version / local_list_get / local_list_size /
local_list_replace / local_list_update`` (the store; blocking sqlite). ``config``:
``config_keys.Configuration``.

Rules:

- LocalAuthListManagement not offered, or LocalAuthListEnabled false: SendLocalList answers
  NotSupported (OCTT 043_1) and GetLocalListVersion answers -1, "does not support Local
  Authorization Lists" (6.28; OCTT 042_1 accepts -1 with LocalAuthListEnabled false).
- GetLocalListVersion is 0 whenever the list is empty (6.28), even after a Full update with a
  non-zero version and no entries (OCTT 042_2).
- Differential: a version less than or equal to the current one is VersionMismatch (6.42
  UpdateStatus; OCTT 043_2). An entry without idTagInfo removes that tag; with one, adds or
  replaces it. No entries: the list is unchanged, the version advances.
- Full: replaces the whole list; every entry needs idTagInfo. A negative version, or version 0
  with entries, is Failed (0 means "empty" and -1 "not supported" in GetLocalListVersion).
- Failed (OCTT 043_3): more entries than SendLocalListMaxLength, a resulting list longer than
  LocalAuthListMaxLength, a duplicate or malformed idTag (IdToken: CiString20), an idTagInfo
  with an unknown status or unreadable expiryDate, or the store refusing the update. Nothing is
  changed when the answer is not Accepted.
- Tags are stored under ``authorization.normalize_id_tag`` (upper case; IdToken is
  case-insensitive).

The version, size and update rules are the version-neutral ones of
``chargepoint.authorization.local_list``; this module parses 1.6 entries and adds
NotSupported and GetLocalListVersion -1.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from chargepoint.authorization.local_list import (
    BadEntry,
    ListChange,
    LocalListStore,
    apply_update,
    check_time,
    list_version,
)
from chargepoint.ocpp16.authorization import id_tag_info_fields, normalize_id_tag
from chargepoint.ocpp16.config_keys import Configuration
from chargepoint.ocpp16.conversions import auth_status
from chargepoint.store.api import AuthEntry

__all__ = ["LocalListStore", "UpdateStatus", "get_local_list_version", "send_local_list"]

log = logging.getLogger(__name__)

UpdateStatus = Literal["Accepted", "Failed", "NotSupported", "VersionMismatch"]
ID_TOKEN_MAX = 20  # IdToken = CiString20Type


def _enabled(config: Configuration) -> bool:
    return config.lookup("LocalAuthListEnabled") is not None and config.get_bool(
        "LocalAuthListEnabled"
    )


def get_local_list_version(store: LocalListStore, config: Configuration) -> int:
    """GetLocalListVersion.conf listVersion: -1 unsupported/disabled, 0 empty, else the version."""
    if not _enabled(config):
        return -1
    return list_version(store)


def _get(entry: Mapping[str, Any], wire: str, snake: str) -> Any:
    return entry[wire] if wire in entry else entry.get(snake)


def _parse_entry(raw: object) -> ListChange:
    """The change one 1.6 entry asks for. Raises ``BadEntry``."""
    if not isinstance(raw, Mapping):
        raise BadEntry("entry is not an object")
    tag = _get(raw, "idTag", "id_tag")
    if not isinstance(tag, str) or not tag.strip() or len(tag) > ID_TOKEN_MAX:
        raise BadEntry(f"bad idTag {tag!r}")
    key = normalize_id_tag(tag)
    info = _get(raw, "idTagInfo", "id_tag_info")
    if info is None:
        return ListChange(key, None)
    if not isinstance(info, Mapping):
        raise BadEntry(f"bad idTagInfo for {tag!r}")
    status_raw = info.get("status")
    try:
        auth_status(status_raw)
    except ValueError:
        raise BadEntry(f"unknown status {status_raw!r} for {tag!r}") from None
    status, expiry, parent = id_tag_info_fields(info)
    check_time(expiry, f"expiryDate {expiry!r} for {tag!r}")
    if parent is not None and len(parent) > ID_TOKEN_MAX:
        raise BadEntry(f"bad parentIdTag for {tag!r}")
    return ListChange(key, AuthEntry(key, status.value, expiry, parent))


def send_local_list(
    store: LocalListStore,
    config: Configuration,
    *,
    list_version: int,
    update_type: str,
    entries: Sequence[Mapping[str, Any]] | None,
) -> UpdateStatus:
    """Apply a SendLocalList.req; the SendLocalList.conf status (rules in the module docstring)."""
    if not _enabled(config):
        return "NotSupported"
    if update_type not in ("Full", "Differential"):
        return "Failed"
    return apply_update(store, full=update_type == "Full", version=list_version,
                        items=list(entries or []), parse=_parse_entry,
                        items_max=config.get_int("SendLocalListMaxLength"),
                        list_max=config.get_int("LocalAuthListMaxLength"))
