"""The pieces of the station's security both OCPP versions build the same way at start.

``await open_parts(settings, store, clock, wake, security_profile=..., ca_file=..., ...)``
(inside the loop): the ``SecurityEvents`` (``events``, or new ones over the security log of
``settings.directory``) made durable (``DurableEvents`` into ``store``'s queue, ``names``: the
version's event names), the ``CertificateStore`` (``csms-roots`` of the directory, the
manufacturer roots, ``ca_file``'s roots as configured ones, at most ``max_length``), the
``StationIdentity`` (``identity``) and the ``ProfileLink`` (the security profile in force,
kept in ``store``'s kv).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from chargepoint.security.certificates import CertificateStore
from chargepoint.security.durable import DurableEvents, Stamper
from chargepoint.security.events import SecurityEvents
from chargepoint.security.identity import StationIdentity
from chargepoint.security.profile import ProfileLink
from chargepoint.security.seclog import SecurityLogFile
from chargepoint.security.settings import SecuritySettings
from chargepoint.store.api import StoreAPI
from chargepoint.store.writebehind import CachedKv


@dataclass(frozen=True, slots=True)
class SecurityParts:
    events: SecurityEvents
    certificates: CertificateStore
    identity: StationIdentity
    profile: ProfileLink


async def open_parts(settings: SecuritySettings, store: StoreAPI, clock: Stamper,
                     wake: Callable[[], None], *, security_profile: int, ca_file: str | None,
                     events: SecurityEvents | None = None,
                     names: Mapping[str, str] | None = None,
                     max_length: int = 20) -> SecurityParts:
    """See the module docstring."""
    loop = asyncio.get_running_loop()
    if events is None:
        events = SecurityEvents(SecurityLogFile(settings.directory, settings.log_max_bytes))
    events.sink = DurableEvents(store, clock, wake, loop, names=names)
    certificates = CertificateStore(
        settings.directory / "csms-roots", settings.manufacturer_roots,
        configured_csms=Path(ca_file) if ca_file else None, max_length=max_length)
    identity = StationIdentity(settings.directory / "identity")
    kv = await asyncio.to_thread(CachedKv, store)
    profile = await asyncio.to_thread(ProfileLink, kv, security_profile,
                                      settings.upgrade_attempts)
    return SecurityParts(events, certificates, identity, profile)
