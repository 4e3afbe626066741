"""OCTT 1.6 charge point cases that had no full-stack scenario (or only part of one): EV side
disconnect variants, lock failure, offline start with an invalid id, local list versions and
failures, remote starts decided by the cache / local list, Authorize invalid, resets followed by
the reboot, availability of the whole station, what the CSMS hears after an offline
period. Reservations, triggers, unlock:
``test_ocpp16_scn_gaps_resv.py``. Each test follows the
OCTT steps and checks what the tool validates (messages, their order and key fields, statuses).

Not here: 032_1 (stop with reason PowerLoss *before* going down, on a power-fail input) is in
``test_ocpp16_scn_power.py``; 032_2 (PowerLoss after the reboot) is covered by
``tests/station/test_station_process.py`` (a real SIGKILL)."""

from __future__ import annotations

from typing import Any

import pytest
from ocpp.v16 import call  # type: ignore[import-untyped]

from chargepoint.store.api import AuthEntry
from tests.fullstack import (
    CpMaker,
    registered,
    start_session,
    status_reached,
    statuses,
    until,
)
from tests.ocpp16.csms import Csms


def status_payloads(csms: Csms, connector: int = 1) -> list[dict[str, Any]]:
    return [f.payload for f in csms.calls("StatusNotification")
            if f.payload["connectorId"] == connector]


def tx_actions(csms: Csms) -> list[str]:
    """The order of the station's transaction-related and status CALLs (connector 1)."""
    out: list[str] = []
    for f in csms.calls():
        if f.action in ("StartTransaction", "StopTransaction"):
            out.append(f.action)
        elif f.action == "StatusNotification" and f.payload["connectorId"] == 1:
            out.append(f.payload["status"])
    return out


def entries(*tags: str) -> list[dict[str, Any]]:
    return [{"idTag": t, "idTagInfo": {"status": "Accepted"}} for t in tags]


# -- sessions --------------------------------------------------------------------------------


async def test_octt_005_3_ev_disconnect_keeps_transaction_until_remote_stop(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(StopTransactionOnEVSideDisconnect=False,
                       UnlockConnectorOnEVSideDisconnect=False)
    await registered(cp)
    await start_session(cp, "0000A053")
    await status_reached(csms, "Charging")
    assert cp.bench is not None
    cp.bench.unplug(1)  # step 1: the cable leaves the EV side -> SuspendedEV, no stop
    await status_reached(csms, "SuspendedEV")
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    assert csms.calls("StopTransaction") == []
    lock = cp.controller.hardware_of(1).lock
    assert lock is not None and lock.is_locked()  # the transaction keeps the cable
    result = await csms.send(call.RemoteStopTransaction(transaction_id=100))  # step 3
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload  # step 7
    assert stop["reason"] == "Remote" and stop["transactionId"] == 100
    await status_reached(csms, "Finishing")  # step 5
    after_suspend = tx_actions(csms)[tx_actions(csms).index("SuspendedEV"):]
    assert after_suspend[:1] == ["SuspendedEV"]
    assert set(after_suspend[1:3]) == {"StopTransaction", "Finishing"}  # 5 and 7 either order


async def test_octt_024_lock_failure_reports_and_starts_no_transaction(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=False)
    await registered(cp)
    await status_reached(csms, "Available")
    assert cp.bench is not None
    cp.bench.fault(1, "lock")  # the plug is pushed in only halfway: the lock cannot engage
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000A024", connector_id=1))
    assert result.status == "Accepted"
    await status_reached(csms, "Preparing")  # step 7
    cp.bench.plug(1)
    faulted = await csms.wait_until(lambda: [p for p in status_payloads(csms)
                                             if p["status"] == "Faulted"])  # step 9
    assert faulted[0]["errorCode"] == "ConnectorLockFailure"
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    assert csms.calls("StartTransaction") == []


async def test_octt_037_2_offline_start_invalid_id_suspends_without_stop(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(AllowOfflineTxForUnknownId=True, LocalAuthorizeOffline=True,
                       StopTransactionOnInvalidId=False)
    await registered(cp)
    csms.tag_status["0000B372"] = "Invalid"
    await csms.stop(abrupt=True)
    await until(lambda: not cp.adapter.link_state().connected)
    await start_session(cp, "0000B372")  # unknown offline: allowed, charging starts
    await csms.start()
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000B372"
    # StartTransaction.conf Invalid, StopTransactionOnInvalidId false: the energy stops, the
    # transaction goes on (OCPP 1.6 section 5.x / OCTT 037_2: SuspendedEVSE, no StopTransaction)
    await until(lambda: not cp.controller.hardware_of(1).contactor.commanded_closed)
    await status_reached(csms, "SuspendedEVSE")
    assert csms.calls("StopTransaction") == []
    assert cp.store.open_transactions() != []


# -- local authorization list ----------------------------------------------------------------


async def test_octt_043_2_local_list_version_mismatch(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert (await csms.send(call.SendLocalList(
        list_version=2, update_type="Full",
        local_authorization_list=entries("0000A431")))).status == "Accepted"
    assert (await csms.send(call.GetLocalListVersion())).list_version == 2
    assert (await csms.send(call.SendLocalList(
        list_version=5, update_type="Differential",
        local_authorization_list=entries("0000A432")))).status == "Accepted"
    assert (await csms.send(call.GetLocalListVersion())).list_version == 5
    assert (await csms.send(call.SendLocalList(
        list_version=3, update_type="Differential",
        local_authorization_list=entries("0000A433")))).status == "VersionMismatch"
    assert (await csms.send(call.GetLocalListVersion())).list_version == 5
    assert cp.store.local_list_get("0000A433") is None


async def test_octt_043_3_local_list_failed_changes_nothing(csms: Csms,
                                                          make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert (await csms.send(call.SendLocalList(
        list_version=1, update_type="Full",
        local_authorization_list=entries("0000A430")))).status == "Accepted"
    keys = (await csms.send(call.GetConfiguration(key=["SendLocalListMaxLength"])))
    max_len = int(keys.configuration_key[0]["value"])
    too_many = entries(*(f"TAG{i:05d}" for i in range(max_len + 1)))
    result = await csms.send(call.SendLocalList(list_version=2, update_type="Full",
                                                local_authorization_list=too_many))
    assert result.status == "Failed"
    assert (await csms.send(call.GetLocalListVersion())).list_version == 1
    assert cp.store.local_list_get("0000A430") is not None
    assert csms.errors_sent() == []


async def test_octt_042_1_local_list_version_when_disabled(csms: Csms,
                                                          make_cp: CpMaker) -> None:
    cp = await make_cp(LocalAuthListEnabled=False)
    await registered(cp)
    assert (await csms.send(call.GetLocalListVersion())).list_version == -1


async def test_octt_042_2_local_list_version_empty(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    assert (await csms.send(call.SendLocalList(
        list_version=1, update_type="Full", local_authorization_list=[]))).status == "Accepted"
    assert (await csms.send(call.GetLocalListVersion())).list_version == 0


# -- cache -------------------------------------------------------------------------------------


async def test_octt_061_1_clear_cache_after_local_authorization(csms: Csms,
                                                                make_cp: CpMaker) -> None:
    cp = await make_cp(LocalPreAuthorize=True, AuthorizationCacheEnabled=True)
    await registered(cp)
    await start_session(cp, "0000C610")  # Authorize.conf Accepted puts the tag in the cache
    await csms.wait_for("StartTransaction")  # and so does StartTransaction.conf: let it land
    await until(lambda: cp.adapter.link_state().queued == 0)
    assert cp.store.cache_get("0000C610") is not None
    assert (await csms.send(call.ClearCache())).status == "Accepted"
    assert cp.store.cache_get("0000C610") is None


async def test_octt_061_2_clear_cache_then_remote_start_authorizes(csms: Csms,
                                                                  make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=True, LocalPreAuthorize=True,
                       AuthorizationCacheEnabled=True)
    await registered(cp)
    cp.store.cache_put(AuthEntry("0000C612", "Accepted", None, None))
    assert (await csms.send(call.ClearCache())).status == "Accepted"
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000C612", connector_id=1))
    assert result.status == "Accepted"
    authorize = (await csms.wait_for("Authorize"))[0].payload  # not decided by the cache
    assert authorize["idTag"] == "0000C612"
    assert cp.bench is not None
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000C612"


# -- sessions, continued ---------------------------------------------------------------------


async def test_octt_005_2_ev_disconnect_stops_and_keeps_cable_locked(
        csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(StopTransactionOnEVSideDisconnect=True,
                       UnlockConnectorOnEVSideDisconnect=False)
    await registered(cp)
    await start_session(cp, "0000A052")
    await status_reached(csms, "Charging")
    assert cp.bench is not None
    cp.bench.unplug(1)  # the cable leaves the EV side
    stop = (await csms.wait_for("StopTransaction"))[0].payload  # step 1
    assert stop["reason"] == "EVDisconnected" and stop["transactionId"] == 100
    await status_reached(csms, "Finishing")  # step 3
    lock = cp.controller.hardware_of(1).lock
    assert lock is not None and lock.is_locked()  # the cable stays locked in the socket
    result = await csms.send(call.UnlockConnector(connector_id=1))  # step 5
    assert result.status == "Unlocked"
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available")  # step 7
    assert statuses(csms)[-3:] == ["Charging", "Finishing", "Available"]


async def test_octt_007_2_remote_start_with_cached_id(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=True, LocalPreAuthorize=True,
                       AuthorizationCacheEnabled=True)
    await registered(cp)
    cp.store.cache_put(AuthEntry("0000C072", "Accepted", None, None))
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000C072", connector_id=1))
    assert result.status == "Accepted"
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000C072"
    await status_reached(csms, "Charging")
    assert csms.calls("Authorize") == []  # the cache decided (LocalPreAuthorize)


async def test_octt_008_2_remote_start_with_id_in_local_list(csms: Csms,
                                                            make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=True, LocalPreAuthorize=True)
    await registered(cp)
    assert (await csms.send(call.SendLocalList(
        list_version=1, update_type="Full",
        local_authorization_list=entries("0000A082")))).status == "Accepted"
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000A082", connector_id=1))
    assert result.status == "Accepted"
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A082"
    await status_reached(csms, "Charging")
    assert csms.calls("Authorize") == []


async def test_octt_023_4_local_start_authorize_invalid(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    for tag, status in (("0000B234", "Blocked"), ("0000E234", "Expired"),
                        ("0000F234", "Invalid")):
        csms.tag_status[tag] = status
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    for n, tag in enumerate(("0000B234", "0000E234", "0000F234"), 1):
        cp.bench.tap(tag)
        await csms.wait_for("Authorize", n)
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    cp.bench.tap("0000A234")  # a valid card afterwards: its transaction is the only one
    starts = await csms.wait_for("StartTransaction")
    assert [f.payload["idTag"] for f in starts] == ["0000A234"]
    await status_reached(csms, "Charging")


async def test_octt_023_5_remote_start_authorize_invalid(csms: Csms,
                                                        make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=True)
    await registered(cp)
    csms.tag_status["0000A235"] = "Invalid"
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000A235", connector_id=1))
    assert result.status == "Accepted"
    authorize = (await csms.wait_for("Authorize"))[0].payload
    assert authorize["idTag"] == "0000A235"
    assert cp.bench is not None
    cp.bench.plug(1)
    await status_reached(csms, "Preparing")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000B235", connector_id=1))
    assert result.status == "Accepted"  # a valid id afterwards: its transaction is the only one
    starts = await csms.wait_for("StartTransaction")
    assert [f.payload["idTag"] for f in starts] == ["0000B235"]
    assert [f.payload["idTag"] for f in csms.calls("Authorize")] == ["0000A235", "0000B235"]


# -- reset, availability -----------------------------------------------------------------------


async def test_octt_014_soft_reset_without_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.Reset(type="Soft"))
    assert result.status == "Accepted"
    await until(lambda: cp.controller.restart == "soft")
    assert csms.calls("StopTransaction") == []


async def test_octt_015_hard_reset_with_transaction(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A015")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.Reset(type="Hard"))
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "HardReset" and stop["transactionId"] == 100
    await until(lambda: cp.controller.restart == "hard")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed


async def test_octt_034_unavailable_station_survives_reboot(csms: Csms,
                                                           make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    result = await csms.send(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert result.status == "Accepted"
    await status_reached(csms, "Unavailable", 0)
    await status_reached(csms, "Unavailable", 1)
    await cp.stop()
    mark = len(csms.frames)
    cp = await make_cp()
    await registered(cp)

    def after_boot(connector: int) -> list[str]:
        return [f.payload["status"] for f in csms.frames[mark:]
                if f.direction == "in" and f.action == "StatusNotification"
                and f.payload["connectorId"] == connector]

    await csms.wait_until(lambda: after_boot(0) and after_boot(1))
    assert after_boot(0)[0] == "Unavailable" and after_boot(1)[0] == "Unavailable"
    result = await csms.send(call.ChangeAvailability(connector_id=0, type="Operative"))
    assert result.status == "Accepted"
    await csms.wait_until(lambda: after_boot(1)[-1] == "Available")


# -- offline: what the CSMS hears after the connection is back --------------------------------


async def test_octt_037_1_offline_start_then_charging_status(csms: Csms,
                                                              make_cp: CpMaker) -> None:
    cp = await make_cp(LocalAuthorizeOffline=True, AuthorizationCacheEnabled=True)
    await registered(cp)
    cp.store.cache_put(AuthEntry("0000A371", "Accepted", None, None))
    await csms.stop(abrupt=True)
    await until(lambda: not cp.adapter.link_state().connected)
    mark = len(csms.frames)
    await start_session(cp, "0000A371")
    await csms.start()
    start = (await csms.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "0000A371"

    def later_statuses() -> list[str]:
        return [f.payload["status"] for f in csms.frames[mark:]
                if f.direction == "in" and f.action == "StatusNotification"
                and f.payload["connectorId"] == 1]

    await csms.wait_until(lambda: "Charging" in later_statuses())  # step 3
    assert later_statuses()[-1] == "Charging"


async def test_octt_038_offline_stop_then_finishing_status(csms: Csms,
                                                            make_cp: CpMaker) -> None:
    cp = await make_cp(LocalAuthorizeOffline=True, AuthorizationCacheEnabled=True)
    await registered(cp)
    await start_session(cp, "0000A038")
    await csms.wait_for("StartTransaction")
    await status_reached(csms, "Charging")
    await csms.stop(abrupt=True)
    await until(lambda: not cp.adapter.link_state().connected)
    mark = len(csms.frames)
    assert cp.bench is not None
    cp.bench.tap("0000A038")  # stopped by the driver while offline
    await until(lambda: cp.store.open_transactions() == [])
    await csms.start()
    stop = (await csms.wait_for("StopTransaction"))[0].payload  # step 1
    assert stop["reason"] == "Local" and stop["transactionId"] == 100

    def later_statuses() -> list[str]:
        return [f.payload["status"] for f in csms.frames[mark:]
                if f.direction == "in" and f.action == "StatusNotification"
                and f.payload["connectorId"] == 1]

    await csms.wait_until(lambda: "Finishing" in later_statuses())  # step 3
    assert later_statuses()[-1] == "Finishing"


# -- the rest of partly covered cases --------------------------------------------------------


async def test_octt_005_1_ev_disconnect_stops_unlocks_and_frees(csms: Csms,
                                                                make_cp: CpMaker) -> None:
    cp = await make_cp(StopTransactionOnEVSideDisconnect=True,
                       UnlockConnectorOnEVSideDisconnect=True)
    await registered(cp)
    await start_session(cp, "0000A051")
    await status_reached(csms, "Charging")
    assert cp.bench is not None
    cp.bench.unplug(1)
    stop = (await csms.wait_for("StopTransaction"))[0].payload  # step 1
    assert stop["reason"] == "EVDisconnected" and stop["transactionId"] == 100
    await csms.wait_until(lambda: statuses(csms)[-1] == "Available")  # step 5
    assert "Finishing" in statuses(csms)[statuses(csms).index("Charging"):]  # step 3
    lock = cp.controller.hardware_of(1).lock
    assert lock is not None
    await until(lambda: not lock.is_locked())


async def test_octt_011_1_remote_start_first_with_authorize(csms: Csms,
                                                           make_cp: CpMaker) -> None:
    cp = await make_cp(AuthorizeRemoteTxRequests=True)
    await registered(cp)
    result = await csms.send(call.RemoteStartTransaction(id_tag="0000A111", connector_id=1))
    assert result.status == "Accepted"
    authorize = (await csms.wait_for("Authorize"))[0].payload
    assert authorize["idTag"] == "0000A111"
    await status_reached(csms, "Preparing")
    assert cp.bench is not None
    cp.bench.plug(1)
    start = (await csms.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "0000A111" and start["connectorId"] == 1
    await status_reached(csms, "Charging")
    assert statuses(csms) == ["Available", "Preparing", "Charging"]


async def test_octt_012_remote_stop_then_finishing(csms: Csms, make_cp: CpMaker) -> None:
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A012")
    await status_reached(csms, "Charging")
    await until(lambda: cp.store.transaction_by_csms_id("100") is not None)
    result = await csms.send(call.RemoteStopTransaction(transaction_id=100))
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "Remote" and stop["transactionId"] == 100
    assert stop["meterStop"] >= 0
    await status_reached(csms, "Finishing")
    assert not cp.controller.hardware_of(1).contactor.commanded_closed


@pytest.mark.parametrize(("kind", "reason"), [("Hard", "HardReset"), ("Soft", "SoftReset")])
async def test_octt_015_016_reset_with_transaction_then_reboot_stops_once(
        csms: Csms, make_cp: CpMaker, kind: str, reason: str) -> None:
    # The restart that follows the Reset (as ``chargepoint run`` does it): the transaction the
    # reset stopped is not stopped a second time (PowerLoss) after the reboot.
    cp = await make_cp()
    await registered(cp)
    await start_session(cp, "0000A015")
    await csms.wait_for("StartTransaction")
    result = await csms.send(call.Reset(type=kind))
    assert result.status == "Accepted"
    stop = (await csms.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == reason and stop["transactionId"] == 100
    await until(lambda: cp.controller.restart == kind.lower())
    await cp.stop(hard=kind == "Hard")
    rebooted = await make_cp()
    await csms.wait_for("BootNotification", 2)
    await registered(rebooted)
    await until(lambda: rebooted.store.queue_length() == 0
                and not rebooted.store.open_transactions())
    await csms.wait_until(lambda: statuses(csms)[-1] in ("Available", "Preparing"))
    assert len(csms.calls("StopTransaction")) == 1
    ids = [f.unique_id for f in csms.calls()]
    assert len(ids) == len(set(ids))
