"""A minimal OCPP 2.0.1 CSMS for ``chargepoint demo --ocpp 2.0.1``, on ``ocpp.v201``.

It accepts every BootNotification, authorizes every idToken (Authorize and the idToken of a
TransactionEvent), confirms every TransactionEvent, status and report, and feeds every frame
in both directions to the demo's ``Timeline``. Subprotocol ``ocpp2.0.1``, 127.0.0.1 only.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201 import ChargePoint as _OcppPeer  # type: ignore[import-untyped]
from ocpp.v201 import call_result

from chargepoint.demo.server import CsmsServer, Recorded, now_utc, on

SUBPROTOCOL = "ocpp2.0.1"
_ACCEPTED = {"status": "Accepted"}


class _StationSession201(Recorded, _OcppPeer):  # type: ignore[misc]
    """The CSMS side of one 2.0.1 station's connection."""

    @on("BootNotification")
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=now_utc(),
                                            interval=self.csms.heartbeat_interval_s,
                                            status="Accepted")

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_utc())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, **_: Any) -> call_result.Authorize:
        return call_result.Authorize(id_token_info=_ACCEPTED)

    @on("TransactionEvent")
    def on_transaction_event(self, id_token: dict[str, Any] | None = None,
                             **_: Any) -> call_result.TransactionEvent:
        return call_result.TransactionEvent(
            id_token_info=None if id_token is None else _ACCEPTED)

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        return call_result.MeterValues()

    @on("NotifyReport")
    def on_notify_report(self, **_: Any) -> call_result.NotifyReport:
        return call_result.NotifyReport()

    @on("NotifyEvent")
    def on_notify_event(self, **_: Any) -> call_result.NotifyEvent:
        return call_result.NotifyEvent()

    @on("SecurityEventNotification")
    def on_security_event(self, **_: Any) -> call_result.SecurityEventNotification:
        return call_result.SecurityEventNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> call_result.FirmwareStatusNotification:
        return call_result.FirmwareStatusNotification()

    @on("LogStatusNotification")
    def on_log_status(self, **_: Any) -> call_result.LogStatusNotification:
        return call_result.LogStatusNotification()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> call_result.DataTransfer:
        return call_result.DataTransfer(status="UnknownVendorId")


class DemoCsms201(CsmsServer):
    """``async with DemoCsms201(timeline) as csms:``: the 2.0.1 demo CSMS."""

    subprotocol = SUBPROTOCOL
    session_class = _StationSession201
