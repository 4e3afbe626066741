"""Which CSMS endpoint each 2.0.1 connection attempt uses: the network connection profiles of
``OCPPCommCtrlr.NetworkConfigurationPriority`` with fallback (B10), the security profile
upgrade they may carry (A05), then the configured ``[ocpp]`` url and profile.

``NetworkChoice(profiles, link, attempts, events)``: ``profiles`` in priority order (read at
start: a new priority or slot applies from the next boot); ``link`` the ``ProfileLink`` of
``chargepoint.security.profile`` (the security profile in use, persisted, never lowered);
``attempts()`` is NetworkProfileConnectionAttempts; ``profile_changed(active)`` is told when a
connection committed a new security profile (SecurityCtrlr.SecurityProfile). The adapter's
connection loop calls:

- ``prepare()`` before an attempt: from the top of the list after a connection was lost (or at
  start). Entering a profile whose securityProfile is above the one in use starts a
  ``ProfileLink`` trial (A05.FR.06, event ReconfigurationOfSecurityParameters); a profile below
  it is skipped (A00.FR.005: no downgrade).
- ``endpoint(options)`` after ``SecurityLink.connect_options``: the profile's ocppCsmsUrl (wss://
  for profile 2/3, ws:// for 0/1); the configured url for the last entry.
- ``failed()``: after ``attempts()`` failed attempts, or once ``ProfileLink`` gave the trial up
  itself, the next entry (B10.FR.03); a trial of the entry left is abandoned (A05.FR.08: the
  previous profile stays, event ReconfigurationOfSecurityParameters). After the configured
  entry the list starts over.
- ``connected() -> bool``: the entry worked (``SecurityLink.connected`` commits its trial,
  A05.FR.07); True when it is another entry than the one of the last connection of this run:
  the station registers again with a BootNotification (B10.FR.10).
Call on the event loop only.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from chargepoint.security import events as ev
from chargepoint.security.events import SecurityEvents
from chargepoint.security.link import ConnectTarget, plain_url_of, tls_url_of
from chargepoint.security.profile import ProfileLink

LOG = logging.getLogger("chargepoint.ocpp")

Options = TypeVar("Options", bound=ConnectTarget)


@dataclass(frozen=True, slots=True)
class NetworkProfile:
    """One configuration slot's connectionData (SetNetworkProfile, B09)."""

    slot: int
    url: str  # ocppCsmsUrl, without the station id
    security_profile: int
    message_timeout: int
    interface: str

    def dumps(self) -> str:
        return json.dumps({"url": self.url, "securityProfile": self.security_profile,
                           "messageTimeout": self.message_timeout,
                           "ocppInterface": self.interface})

    @classmethod
    def loads(cls, slot: int, text: str) -> NetworkProfile | None:
        """The stored profile of ``slot``; None when it cannot be read."""
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(slot, str(data["url"]), int(data["securityProfile"]),
                       int(data["messageTimeout"]), str(data["ocppInterface"]))
        except (ValueError, KeyError, TypeError):
            return None


class NetworkChoice:
    def __init__(self, profiles: list[NetworkProfile], link: ProfileLink,
                 attempts: Callable[[], int], events: SecurityEvents,
                 profile_changed: Callable[[int], None] = lambda _active: None) -> None:
        self._order: list[NetworkProfile | None] = [*profiles, None]  # None: [ocpp]
        self._link = link
        self._attempts = attempts
        self._events = events
        self._profile_changed = profile_changed
        self._reported = link.active
        self._index = 0
        self._failures = 0
        self._trial = False  # the current entry asked ProfileLink for a trial
        self._fresh = True  # start from the top at the next prepare()
        self._has_connected = False  # in this run
        self._last_good: NetworkProfile | None = None  # the entry of the last connection

    @property
    def current(self) -> NetworkProfile | None:
        """The entry in use: a network profile, None for the configured url."""
        return self._order[self._index]

    def prepare(self) -> None:
        if self._fresh:
            self._fresh = False
            self._enter(0)

    def endpoint(self, options: Options) -> Options:
        entry = self.current
        if entry is None:
            return options
        url = tls_url_of(entry.url) if options.security_profile >= 2 else plain_url_of(entry.url)
        return cast(Options, dataclasses.replace(cast(Any, options), url=url))

    def failed(self) -> None:
        self._failures += 1
        gave_up = self._trial and self._link.trial is None  # ProfileLink abandoned it
        if self._failures < max(1, self._attempts()) and not gave_up:
            return
        entry = self.current
        if self._trial and (trial := self._link.abandon()) is not None and entry is not None:
            info = (f"SecurityProfile {trial.new} of network profile slot {entry.slot} did "
                    f"not connect: back to {trial.previous}")
            LOG.error("%s", info)
            self._events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS, info)
        following = (self._index + 1) % len(self._order)
        LOG.warning("%s did not connect after %d attempt(s): trying %s", _name(entry),
                    self._failures, _name(self._order[following]))
        self._enter(following)

    def connected(self) -> bool:
        switched = self._has_connected and self._last_good != self.current
        self._has_connected, self._last_good = True, self.current
        self._failures = 0
        self._trial = False
        self._fresh = True  # a lost connection starts from the highest priority again
        if self._link.active != self._reported:
            self._reported = self._link.active
            self._profile_changed(self._reported)
        return switched

    def _enter(self, index: int) -> None:
        entry = self._order[index]
        while entry is not None and entry.security_profile < self._link.active:
            LOG.warning("network profile slot %d skipped: SecurityProfile %d is below %d",
                        entry.slot, entry.security_profile, self._link.active)
            index += 1
            entry = self._order[index]
        self._index, self._failures, self._trial = index, 0, False
        if entry is not None and entry.security_profile > self._link.active:
            previous = self._link.active
            self._link.try_profile(entry.security_profile)
            self._trial = True
            self._events.raise_event(
                ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                f"SecurityProfile {previous} -> {entry.security_profile} "
                f"(network profile slot {entry.slot})")


def _name(entry: NetworkProfile | None) -> str:
    return "the configured [ocpp] url" if entry is None else f"network profile slot {entry.slot}"
