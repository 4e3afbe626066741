"""B10 / A05 endpoint choice of ``chargepoint.ocpp201.network_choice`` without a network: the
order of the slots, NetworkProfileConnectionAttempts, the security profile trial and its
fallback, no downgrade."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chargepoint.ocpp201.network_choice import NetworkChoice, NetworkProfile
from chargepoint.security.profile import ProfileLink
from tests.security.test_profile import Kv


@dataclass(frozen=True)
class Target:
    url: str = "ws://configured/ocpp"
    security_profile: int = 1
    password: str | None = None


class Events:
    def __init__(self) -> None:
        self.raised: list[tuple[str, str]] = []

    def raise_event(self, kind: str, tech_info: str = "") -> None:
        self.raised.append((kind, tech_info))


def slot(number: int, security_profile: int) -> NetworkProfile:
    return NetworkProfile(number, f"ws://slot{number}/ocpp", security_profile, 30, "Wired0")


def choice(profiles: list[NetworkProfile], link: ProfileLink,
           attempts: int = 2) -> tuple[NetworkChoice, Events, list[int]]:
    events, changed = Events(), []
    made = NetworkChoice(profiles, link, lambda: attempts, events,  # type: ignore[arg-type]
                         changed.append)
    return made, events, changed


def url(made: NetworkChoice, link: ProfileLink) -> str:
    made.prepare()
    return made.endpoint(Target(security_profile=link.effective)).url


def test_b10_slots_in_priority_order_then_the_configured_url_then_again() -> None:
    """B10.FR.03/04/08: NetworkProfileConnectionAttempts per entry, in priority order, the
    configured url last, then the list again; after a lost connection from the top."""
    link = ProfileLink(Kv(), 1)
    made, _, _ = choice([slot(2, 1), slot(1, 1)], link)
    seen: list[Any] = []
    for _ in range(7):
        seen.append(url(made, link))
        made.failed()
    assert seen == ["ws://slot2/ocpp"] * 2 + ["ws://slot1/ocpp"] * 2 + \
        ["ws://configured/ocpp"] * 2 + ["ws://slot2/ocpp"]
    assert made.connected() is False  # the first connection of the run
    assert url(made, link) == "ws://slot2/ocpp"  # after a drop: from the top
    made.failed()
    made.failed()
    assert url(made, link) == "ws://slot1/ocpp"
    assert made.connected() is True  # another profile: BootNotification again (B10.FR.10)


def test_a05_higher_slot_is_a_trial_committed_on_connect_and_lower_ones_skipped() -> None:
    kv = Kv()
    link = ProfileLink(kv, 1)
    made, events, changed = choice([slot(1, 2), slot(2, 1)], link)
    assert url(made, link) == "wss://slot1/ocpp"
    assert link.effective == 2 and "1 -> 2" in events.raised[0][1]
    link.connected()  # SecurityLink.connected commits the trial (A05.FR.07)
    made.connected()
    assert link.active == 2 and kv["security.profile"] == "2" and changed == [2]
    assert url(made, link) == "wss://slot1/ocpp" and link.trial is None
    made.failed()
    made.failed()  # slot 1 gave up: slot 2 (profile 1) is skipped (no downgrade)
    assert url(made, link) == "ws://configured/ocpp"  # (SecurityLink makes it wss://)


def test_a05_failed_trial_is_abandoned_and_the_previous_profile_kept() -> None:
    link = ProfileLink(Kv(), 1, max_attempts=5)
    made, events, changed = choice([slot(1, 3)], link, attempts=2)
    url(made, link)
    made.failed()
    assert link.effective == 3
    made.failed()
    assert link.trial is None and link.effective == 1 and changed == []
    assert "did not connect: back to 1" in events.raised[-1][1]
    assert url(made, link) == "ws://configured/ocpp"
