"""The protocol packages, by ``[ocpp] version``.

The one module outside a protocol package that imports one (``tests/test_layering.py`` checks
it): ``chargepoint.app`` asks ``package(version)`` for the package and sees only the ports of
``chargepoint.ports``. A new OCPP version is a package beside ``chargepoint/ocpp16/`` with a
``check_config`` and a ``setup`` like ``chargepoint.ocpp16.factory``, and one line here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chargepoint.ocpp16 import factory as ocpp16
from chargepoint.ocpp201 import factory as ocpp201
from chargepoint.ports import ProtocolSetup
from chargepoint.store.api import StoreAPI

if TYPE_CHECKING:
    from chargepoint.config.model import Config


@dataclass(frozen=True, slots=True)
class ProtocolPackage:
    check_config: Callable[[Mapping[str, str]], list[str]]
    """The problems of an ``[ocpp.config]`` table, one message per key."""
    setup: Callable[[Config, StoreAPI], Awaitable[ProtocolSetup]]
    """Read the package's configuration (first step of building its adapter)."""
    check_variables: Callable[[Mapping[str, str]], list[str]] | None = None
    """The problems of an ``[ocpp.variables]`` table (2.0.1's device model); None: the
    version has no such table."""


PACKAGES: dict[str, ProtocolPackage] = {
    "1.6": ProtocolPackage(check_config=ocpp16.check_config, setup=ocpp16.setup),
    "2.0.1": ProtocolPackage(check_config=ocpp201.check_config, setup=ocpp201.setup,
                             check_variables=ocpp201.check_variables),
}


class UnsupportedVersion(ValueError):
    """``[ocpp] version`` names a version no package implements (yet)."""


def package(version: str) -> ProtocolPackage:
    """The package for ``version``; ``UnsupportedVersion`` says which versions there are."""
    try:
        return PACKAGES[version]
    except KeyError:
        supported = ", ".join(sorted(PACKAGES))
        raise UnsupportedVersion(
            f"ocpp.version {version!r} is not supported yet (supported: {supported})") from None
