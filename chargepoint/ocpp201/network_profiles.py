"""OCPP 2.0.1 SetNetworkProfile (B09) and the network connection profiles the station connects
with (B10, A05; the choice itself is ``network_choice.NetworkChoice``).

SetNetworkProfile(configurationSlot, connectionData):
- Rejected (``statusInfo.reasonCode``, nothing stored) when the slot is not one of the
  valuesList of ``OCPPCommCtrlr.NetworkConfigurationPriority`` (1-3), ocppVersion is not
  OCPP20, ocppTransport not JSON, ocppCsmsUrl not a ws:// / wss:// URL with a host, a ``vpn``
  or ``apn`` is given (this hardware has neither), securityProfile is not 0-3 or below the
  profile in use (NoSecurityDowngrade, A00.FR.005), or above it without its prerequisites
  (``chargepoint.security.profile.upgrade_problem``: a Basic auth password for 1/2, an installed
  CSMS root for 2/3, a client certificate for 3; A05.FR.02-04).
- Accepted once the profile is in the store (kv ``ocpp201.network_profile.<slot>``); Failed
  when it cannot be written. It is used from the next boot, when the slot is listed in
  NetworkConfigurationPriority (SetVariables answers RebootRequired for that one).
ocppInterface and messageTimeout are stored, not used: the station connects through the
operating system's routing and keeps ``[ocpp] response_timeout_s``.

``setup_network_profiles(adapter, security)``: reads the slots the priority lists, gives the
adapter its ``network`` (``NetworkChoice``) and adds the handler; call after
``setup_security``, before ``run()``.
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
    def __init__(self, host: NetworkHost, security: SecurityHandlers) -> None:
        self._host = host
        self._security = security

    def check(self, slot: int, data: dict[str, Any]) -> NetworkProfile:
        """The profile to store; ``Refused`` says why it is not taken."""
        if slot not in SLOTS:
            raise Refused("InvalidValue", f"configurationSlot {slot} is not one of "
                          f"{', '.join(map(str, SLOTS))}")
        if data.get("ocpp_version") != "OCPP20":
            raise Refused("InvalidValue", f"ocppVersion {data.get('ocpp_version')} (OCPP20 only)")
        if data.get("ocpp_transport") != "JSON":
            raise Refused("InvalidValue", "ocppTransport must be JSON")
        url = str(data.get("ocpp_csms_url", ""))
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise Refused("InvalidValue", f"ocppCsmsUrl {url[:80]!r} is not a ws(s):// URL")
        if data.get("vpn") is not None or data.get("apn") is not None:
            raise Refused("UnsupportedParam", "no VPN or APN on this station")
        profile = int(data.get("security_profile", -1))
        if not 0 <= profile <= 3:
            raise Refused("InvalidValue", f"securityProfile {profile}")
        link = self._security.link.link
        if profile < link.active:
            raise Refused("NoSecurityDowngrade",
                          f"securityProfile {profile} is below the one in use ({link.active})")
        if profile > link.active:
            options = self._host.options
            problem = upgrade_problem(
                profile, link.active,
                has_authorization_key=bool(self._security.password() or options.password),
                csms_roots=len(self._security.csms_roots),
                has_client_certificate=self._security.identity.client_pair() is not None
                or bool(options.cert_file))
            if problem is not None:
                raise Refused("InvalidValue", problem)
        return NetworkProfile(slot, url.rstrip("/"), profile, int(data["message_timeout"]),
                              str(data["ocpp_interface"]))

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
        LOG.info("network profile slot %d: %s, security profile %d", profile.slot, profile.url,
                 profile.security_profile)
        return call_result.SetNetworkProfile(status="Accepted")


async def setup_network_profiles(host: NetworkHost,
                                 security: SecurityHandlers) -> NetworkProfiles:
    """Attach the handler and the adapter's ``network`` (module docstring)."""
    store = host.port.store
    slots = [int(s) for s in host.model.members(PRIORITY)]

    def read() -> list[NetworkProfile]:
        found = []
        for slot in slots:
            text = store.kv_get(KV_PREFIX + str(slot))
            profile = NetworkProfile.loads(slot, text) if text else None
            if profile is None:
                LOG.warning("NetworkConfigurationPriority lists slot %d: no profile there",
                            slot)
            else:
                found.append(profile)
        return found

    profiles = await asyncio.to_thread(read)
    host.network = NetworkChoice(profiles, security.link.link,
                                 lambda: host.model.get_int(ATTEMPTS), security.events,
                                 lambda active: host.model.apply(PROFILE, str(active)))
    handlers = NetworkProfiles(host, security)
    host.add_handlers(handlers)
    return handlers
