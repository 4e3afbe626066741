"""The store for these unit tests: the real sqlite store when it exists, else a small fake.

The fake implements only what the OCPP 1.6 building blocks call (config, kv, auth cache, local
list), with the semantics of ``chargepoint.store.api``.
"""

from __future__ import annotations

from pathlib import Path

from chargepoint.store.api import AuthEntry


class FakeStore:
    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.kv: dict[str, str] = {}
        self.cache: dict[str, AuthEntry] = {}
        self.local: dict[str, AuthEntry] = {}
        self.version = 0

    def close(self) -> None:
        pass

    def config_get(self, key: str) -> str | None:
        return self.config.get(key)

    def config_set(self, key: str, value: str) -> None:
        self.config[key] = value

    def config_all(self) -> dict[str, str]:
        return dict(self.config)

    def kv_get(self, key: str) -> str | None:
        return self.kv.get(key)

    def kv_set(self, key: str, value: str | None) -> None:
        if value is None:
            self.kv.pop(key, None)
        else:
            self.kv[key] = value

    def cache_put(self, entry: AuthEntry) -> None:
        self.cache[entry.id_tag] = entry

    def cache_get(self, id_tag: str) -> AuthEntry | None:
        return self.cache.get(id_tag)

    def cache_clear(self) -> None:
        self.cache.clear()

    def local_list_version(self) -> int:
        return self.version

    def local_list_get(self, id_tag: str) -> AuthEntry | None:
        return self.local.get(id_tag)

    def local_list_replace(self, version: int, entries: list[AuthEntry]) -> None:
        self.version = version
        self.local = {e.id_tag: e for e in entries}

    def local_list_update(
        self, version: int, upserts: list[AuthEntry], removals: list[str]
    ) -> None:
        self.version = version
        for tag in removals:
            self.local.pop(tag, None)
        for e in upserts:
            self.local[e.id_tag] = e

    def local_list_size(self) -> int:
        return len(self.local)


def open_store(tmp_path: Path) -> FakeStore:
    """The store the tests use (the fake until ``chargepoint.store.db`` is there)."""
    return FakeStore()
