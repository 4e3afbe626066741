"""Security profile prerequisites and the upgrade trial (whitepaper A05), without a network."""

from __future__ import annotations

import pytest

from chargepoint.security.guards import MemoryWatch, ReplayGuard
from chargepoint.security.profile import KV_PROFILE, ProfileLink, upgrade_problem


class Kv(dict[str, str]):
    def kv_get(self, key: str) -> str | None:
        return self.get(key)

    def kv_set(self, key: str, value: str | None) -> None:
        if value is None:
            self.pop(key, None)
        else:
            self[key] = value


@pytest.mark.parametrize(("new", "current", "key", "roots", "cert", "rule"), [
    (1, 1, True, 1, True, "A05.FR.01"),
    (0, 2, True, 1, True, "A05.FR.01"),
    (2, 1, False, 1, True, "A05.FR.02"),
    (2, 1, True, 0, True, "A05.FR.03"),
    (3, 2, True, 1, False, "A05.FR.04"),
    (3, 2, False, 1, True, None),  # profile 3 needs no password
])
def test_a05_prerequisites(new: int, current: int, key: bool, roots: int, cert: bool,
                           rule: str | None) -> None:
    problem = upgrade_problem(new, current, has_authorization_key=key, csms_roots=roots,
                              has_client_certificate=cert)
    assert (problem is None) if rule is None else (rule in (problem or ""))


def test_a05_fr07_fr08_trial_commits_on_connect_and_falls_back_after_failures() -> None:
    kv = Kv()
    link = ProfileLink(kv, configured=1, max_attempts=2)
    link.try_profile(2)
    assert link.effective == 2
    assert link.failed() is None
    trial = link.failed()
    assert trial is not None and trial.previous == 1 and link.effective == 1
    assert KV_PROFILE not in kv
    link.try_profile(2)
    assert link.connected() is not None and link.active == 2 and kv[KV_PROFILE] == "2"
    again = ProfileLink(kv, configured=1)  # after a restart: never below what was reached
    assert again.active == 2
    assert ProfileLink(kv, configured=3).active == 3


def test_replay_guard_and_memory_watch() -> None:
    guard = ReplayGuard(size=2)
    assert [guard.seen(i) for i in ("a", "b", "a", "c", "b", "a")] == [
        False, False, True, False, True, False]  # "a" was forgotten: bounded memory
    watch = MemoryWatch(min_free_bytes=100, min_free_fraction=0.5)
    assert [watch.check(free, 1000) for free in (500, 50, 40, 600, 10)] == [
        False, True, False, False, True]
