"""Errors the store raises. All derive from ``StoreError``; each names who is at fault."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store could not do what was asked."""


class StoreOpenError(StoreError):
    """The file cannot be used as our store (not a database, WAL unavailable, unreadable)."""


class SchemaTooNewError(StoreOpenError):
    """The database was written by newer software; opening it could lose or corrupt data."""


class NotFoundError(StoreError, LookupError):
    """Caller misuse: no transaction / queued message with that id."""


class TransactionStateError(StoreError, ValueError):
    """Caller misuse: a second open transaction on a connector, or stopping a stopped one."""


class StoreWriteError(StoreError):
    """The medium refused a durable write (disk full, I/O error, read-only, corrupt): nothing
    of it was written. ``WriteHealth`` records it; the station raises its storage fault."""


class StoreCorruptError(StoreOpenError):
    """The file is damaged: not a database, or sqlite finds it malformed."""
