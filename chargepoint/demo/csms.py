"""A minimal OCPP 1.6J CSMS for the demo, built on the ``ocpp`` library's server side.

It accepts every BootNotification, authorizes every idTag, numbers transactions from 1 and
feeds every frame in both directions to a ``Timeline``. It listens on 127.0.0.1 only.
The server itself is ``chargepoint.demo.server``; ``chargepoint.demo.csms201`` is the 2.0.1
demo CSMS.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16 import ChargePoint as _OcppPeer  # type: ignore[import-untyped]
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo  # type: ignore[import-untyped]
from ocpp.v16.enums import (  # type: ignore[import-untyped]
    Action,
    AuthorizationStatus,
    DataTransferStatus,
    RegistrationStatus,
)

from chargepoint.demo.server import CsmsServer, Recorded, now_utc, on

SUBPROTOCOL = "ocpp1.6"


class _StationSession(Recorded, _OcppPeer):  # type: ignore[misc]
    """The CSMS side of one station's connection."""

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=now_utc(),
                                            interval=self.csms.heartbeat_interval_s,
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_utc())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.start_transaction)
    def on_start(self, id_tag: str, **_: Any) -> call_result.StartTransaction:
        return call_result.StartTransaction(
            transaction_id=next(self.csms.transaction_ids),
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> call_result.StopTransaction:
        return call_result.StopTransaction(
            id_tag_info=IdTagInfo(status=AuthorizationStatus.accepted))

    @on(Action.meter_values)
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(self, **_: Any) -> call_result.DiagnosticsStatusNotification:
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()


class DemoCsms(CsmsServer):
    """``async with DemoCsms(timeline) as csms:``: the 1.6 demo CSMS."""

    subprotocol = SUBPROTOCOL
    session_class = _StationSession
