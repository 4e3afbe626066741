"""The protocol packages, by ``[ocpp] version``.

The one module outside a protocol package that imports one (``tests/test_layering.py`` checks
it): ``chargepoint.app`` asks ``package(version)`` for the package and sees only the ports of
``chargepoint.ports``. A new OCPP version is a package beside ``chargepoint/ocpp16/`` with a
``check_config`` and a ``setup`` like ``chargepoint.ocpp16.factory``, and a loader here.

A package is imported when its version is first asked for: a 1.6 station never loads the
2.0.1 schemas and message classes (about half a second and several MiB), nor the reverse.
For 1.6, asking loads only its configuration keys; the adapter (and the ``ocpp`` library) is
imported by ``setup``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ports import the whole core: not needed to check a config file
    from chargepoint.config.model import Config
    from chargepoint.ports import ProtocolSetup
    from chargepoint.store.api import StoreAPI


@dataclass(frozen=True, slots=True)
class ProtocolPackage:
    check_config: Callable[[Mapping[str, str]], list[str]]
    """The problems of an ``[ocpp.config]`` table, one message per key."""
    setup: Callable[[Config, StoreAPI], Awaitable[ProtocolSetup]]
    """Read the package's configuration (first step of building its adapter)."""
    check_variables: Callable[[Mapping[str, str]], list[str]] | None = None
    """The problems of an ``[ocpp.variables]`` table (2.0.1's device model); None: the
    version has no such table."""


def _ocpp16() -> ProtocolPackage:
    # The keys alone: checking a config file does not import the adapter and the ocpp
    # library; ``setup`` does (the station's start-up overlaps it with the island's).
    from chargepoint.ocpp16 import config_keys

    async def setup(config: Config, store: StoreAPI) -> ProtocolSetup:
        from chargepoint.ocpp16 import factory

        return await factory.setup(config, store)

    return ProtocolPackage(check_config=config_keys.check_initial, setup=setup)


def _ocpp201() -> ProtocolPackage:
    from chargepoint.ocpp201 import factory

    return ProtocolPackage(check_config=factory.check_config, setup=factory.setup,
                           check_variables=factory.check_variables)


_LOADERS: dict[str, Callable[[], ProtocolPackage]] = {"1.6": _ocpp16, "2.0.1": _ocpp201}
VERSIONS = tuple(_LOADERS)


class UnsupportedVersion(ValueError):
    """``[ocpp] version`` names a version no package implements (yet)."""


@cache
def find(version: str) -> ProtocolPackage | None:
    """The package for ``version`` (imported now if it was not yet), None if there is none."""
    loader = _LOADERS.get(version)
    return loader() if loader is not None else None


def package(version: str) -> ProtocolPackage:
    """The package for ``version``; ``UnsupportedVersion`` says which versions there are."""
    found = find(version)
    if found is None:
        supported = ", ".join(sorted(VERSIONS))
        raise UnsupportedVersion(
            f"ocpp.version {version!r} is not supported yet (supported: {supported})")
    return found
