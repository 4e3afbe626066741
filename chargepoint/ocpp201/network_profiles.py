"""OCPP 2.0.1 SetNetworkProfile (B09) and the network connection profiles the station connects
with (B10, A05; the choice itself is ``network_choice.NetworkChoice``).

SetNetworkProfile(configurationSlot, connectionData):
- Rejected (``statusInfo.reasonCode``, nothing stored): InvalidConfSlot when the slot is not one
  of the valuesList of ``OCPPCommCtrlr.NetworkConfigurationPriority`` (1-3, B09.FR.05);
  InvalidNetworkConf when ocppVersion is not OCPP20, ocppTransport not JSON, ocppCsmsUrl not a
  ws:// / wss:// URL with a host, securityProfile not 0-3 (B09.FR.02), or above the profile in
  use without its prerequisites (``chargepoint.security.profile.upgrade_problem``: a Basic auth
  password for 1/2, an installed CSMS root for 2/3, a client certificate for 3); UnsupportedParam
  for a ``vpn`` or ``apn`` (this hardware has neither); NoSecurityDowngrade for a securityProfile
  below the one in use (B09.FR.04, A00.FR.005).
- Accepted once the profile is in the store (kv ``ocpp201.network_profile.<slot>``, B09.FR.01);
  Failed when it cannot be written (B09.FR.03). It is used from the next boot, when the slot is
  listed in NetworkConfigurationPriority.
ocppInterface and messageTimeout are stored, not used: the station connects through the
operating system's routing and keeps ``[ocpp] response_timeout_s``.

SetVariables NetworkConfigurationPriority (answered RebootRequired) is Rejected when it lists a
slot without a profile, a slot whose securityProfile is below the one in use (A05.FR.10) or
above it without its prerequisites.

``setup_network_profiles(adapter, security)``: reads the stored slots, gives the adapter its
``network`` (``NetworkChoice``: the slots the priority lists), adds the priority check and the
handler; call after ``setup_security``, before ``run()``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol
from urllib.parse import urlsplit

from ocpp.v201 import call_result  # type: ignore[import-untyped]

from chargepoint.ocpp201.client import on
from chargepoint.ocpp201.device_model import VARIABLES, DeviceModel
from chargepoint.ocpp201.network_choice import NetworkChoice, NetworkProfile
from chargepoint.ocpp201.security import PROFILE, SecurityHandlers
from chargepoint.ports import StationPort
from chargepoint.security.profile import upgrade_problem

LOG = logging.getLogger("chargepoint.ocpp")

PRIORITY = "OCPPCommCtrlr.NetworkConfigurationPriority"
ATTEMPTS = "OCPPCommCtrlr.NetworkProfileConnectionAttempts"
KV_PREFIX = "ocpp201.network_profile."
SLOTS = tuple(int(s) for s in VARIABLES[PRIORITY].members)


class NetworkOptions(Protocol):
    @property
    def password(self) -> str | None: ...
    @property
    def cert_file(self) -> str | None: ...


class NetworkHost(Protocol):
    """The adapter as this module sees it."""

    network: NetworkChoice | None

    @property
    def port(self) -> StationPort: ...
    @property
    def model(self) -> DeviceModel: ...
    @property
    def options(self) -> NetworkOptions: ...

    def add_handlers(self, *handlers: object) -> None: ...


class Refused(Exception):
    def __init__(self, reason_code: str, detail: str) -> None:
        super().__init__(detail)
        self.reason_code = reason_code


class NetworkProfiles:
    def __init__(self, host: NetworkHost, security: SecurityHandlers,
                 stored: dict[int, NetworkProfile]) -> None:
        self._host = host
        self._security = security
        self.stored = stored  # slot -> its profile (what the store holds)

    def security_problem(self, profile: int) -> tuple[str, str] | None:
        """(reasonCode, why) a network profile with securityProfile ``profile`` cannot be used
        from the profile in use; None when it can."""
        active = self._security.link.link.active
        if profile < active:
            return "NoSecurityDowngrade", f"securityProfile {profile} is below the one in " \
                                          f"use ({active})"
        if profile == active:
            return None
        options = self._host.options
        problem = upgrade_problem(
            profile, active,
            has_authorization_key=bool(self._security.password() or options.password),
            csms_roots=len(self._security.certs.csms_roots),
            has_client_certificate=self._security.identity.client_pair() is not None
            or bool(options.cert_file))
        return None if problem is None else ("InvalidNetworkConf", problem)

    def check(self, slot: int, data: dict[str, Any]) -> NetworkProfile:
        """The profile to store; ``Refused`` says why it is not taken."""
        if slot not in SLOTS:
            raise Refused("InvalidConfSlot", f"configurationSlot {slot} is not one of "
                          f"{', '.join(map(str, SLOTS))}")
        if data.get("ocpp_version") != "OCPP20":
            raise Refused("InvalidNetworkConf",
                          f"ocppVersion {data.get('ocpp_version')} (OCPP20 only)")
        if data.get("ocpp_transport") != "JSON":
            raise Refused("InvalidNetworkConf", "ocppTransport must be JSON")
        url = str(data.get("ocpp_csms_url", ""))
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise Refused("InvalidNetworkConf",
                          f"ocppCsmsUrl {url[:80]!r} is not a ws(s):// URL")
        if data.get("vpn") is not None or data.get("apn") is not None:
            raise Refused("UnsupportedParam", "no VPN or APN on this station")
        profile = int(data.get("security_profile", -1))
        if not 0 <= profile <= 3:
            raise Refused("InvalidNetworkConf", f"securityProfile {profile}")
        found = self.security_problem(profile)
        if found is not None:
            raise Refused(*found)
        return NetworkProfile(slot, url.rstrip("/"), profile, int(data["message_timeout"]),
                              str(data["ocpp_interface"]))

    def priority_problem(self, value: str) -> str | None:
        """Why NetworkConfigurationPriority ``value`` is refused (A05.FR.10), None if not."""
        for item in (v.strip() for v in value.split(",") if v.strip()):
            profile = self.stored.get(int(item))
            if profile is None:
                return f"lists slot {item}, which has no network profile"
            found = self.security_problem(profile.security_profile)
            if found is not None:
                return f"lists slot {item}: {found[1]}"
        return None

    @on("SetNetworkProfile")
    async def on_set_network_profile(self, configuration_slot: int,
                                     connection_data: dict[str, Any],
                                     **_: Any) -> call_result.SetNetworkProfile:
        try:
            profile = self.check(configuration_slot, connection_data)
        except Refused as exc:
            LOG.warning("SetNetworkProfile slot %s Rejected: %s", configuration_slot, exc)
            return call_result.SetNetworkProfile(status="Rejected", status_info={
                "reason_code": exc.reason_code, "additional_info": str(exc)[:512]})
        store = self._host.port.store
        try:
            await asyncio.to_thread(store.kv_set, KV_PREFIX + str(profile.slot),
                                    profile.dumps())
        except Exception as exc:  # the store refused: nothing was promised
            LOG.error("SetNetworkProfile slot %d not stored: %s", profile.slot, exc)
            return call_result.SetNetworkProfile(status="Failed")
        self.stored[profile.slot] = profile
        LOG.info("network profile slot %d: %s, security profile %d", profile.slot, profile.url,
                 profile.security_profile)
        return call_result.SetNetworkProfile(status="Accepted")


async def setup_network_profiles(host: NetworkHost,
                                 security: SecurityHandlers) -> NetworkProfiles:
    """Attach the handler and the adapter's ``network`` (module docstring)."""
    store = host.port.store

    def read() -> dict[int, NetworkProfile]:
        found = {}
        for slot in SLOTS:
            text = store.kv_get(KV_PREFIX + str(slot))
            profile = NetworkProfile.loads(slot, text) if text else None
            if profile is not None:
                found[slot] = profile
        return found

    stored = await asyncio.to_thread(read)
    profiles = []
    for slot in (int(s) for s in host.model.members(PRIORITY)):
        if slot in stored:
            profiles.append(stored[slot])
        else:
            LOG.warning("NetworkConfigurationPriority lists slot %d: no profile there", slot)
    host.network = NetworkChoice(profiles, security.link.link,
                                 lambda: host.model.get_int(ATTEMPTS), security.events,
                                 lambda active: host.model.apply(PROFILE, str(active)))
    handlers = NetworkProfiles(host, security, stored)
    host.model.add_check(PRIORITY, handlers.priority_problem)
    host.add_handlers(handlers)
    return handlers
