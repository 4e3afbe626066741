"""The security profile in use and its upgrade (whitepaper A05; A02.FR.08/10 for a new client
certificate).

``upgrade_problem(new, current, ...) -> str | None``: why ChangeConfiguration SecurityProfile
= ``new`` must be Rejected (A05.FR.01 lower or equal, A05.FR.02 no AuthorizationKey for 1/2,
A05.FR.03 no CSMS root for 2/3, A05.FR.04 no client certificate for 3), None when it may be
Accepted (A05.FR.05).

``ProfileLink(kv, configured)``: which credentials the next connection uses.
- ``active``: the profile in use: the configured one, or the higher one a CSMS upgrade reached
  (persisted in kv ``security.profile``; never lowered over OCPP, A00.FR.005).
- ``try_profile(new)`` / ``try_certificate()``: the next connections try the new profile (or
  the client certificate just installed); ``effective`` is what to connect with now.
- ``connected() -> Trial | None``: a connection worked: the trial is committed (A05.FR.07,
  the profile is persisted) and returned.
- ``failed() -> Trial | None``: an attempt failed; after ``max_attempts`` failed attempts of a
  trial it is abandoned and returned (A05.FR.08: back to the previous profile; for a
  certificate the caller restores the previous pair).
- ``abandon() -> Trial | None``: give a trial up now (2.0.1 B10: the network profile that
  asked for it is left for the next one); the previous profile stays.
Not thread-safe; call from the event loop. ``kv`` writes are expected to be cheap (CachedKv).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

KV_PROFILE = "security.profile"


class Kv(Protocol):
    def kv_get(self, key: str) -> str | None: ...

    def kv_set(self, key: str, value: str | None) -> None: ...


def upgrade_problem(new: int, current: int, *, has_authorization_key: bool,
                    csms_roots: int, has_client_certificate: bool) -> str | None:
    if new <= current:
        return f"SecurityProfile {new} is not higher than {current} (A05.FR.01)"
    if new in (1, 2) and not has_authorization_key:
        return f"SecurityProfile {new} needs an AuthorizationKey (A05.FR.02)"
    if new >= 2 and csms_roots == 0:
        return f"SecurityProfile {new} needs a CentralSystemRootCertificate (A05.FR.03)"
    if new == 3 and not has_client_certificate:
        return "SecurityProfile 3 needs a charge point certificate (A05.FR.04)"
    return None


@dataclass
class Trial:
    kind: Literal["profile", "certificate"]
    previous: int
    new: int
    attempts: int = 0


class ProfileLink:
    def __init__(self, kv: Kv, configured: int, max_attempts: int = 3) -> None:
        self._kv = kv
        self.configured = configured
        self.max_attempts = max_attempts
        stored = kv.kv_get(KV_PROFILE)
        reached = int(stored) if stored and stored.isdigit() else 0
        self.active = max(configured, min(reached, 3))
        self.trial: Trial | None = None

    @property
    def effective(self) -> int:
        return self.trial.new if self.trial is not None else self.active

    def try_profile(self, new: int) -> None:
        self.trial = Trial("profile", self.active, new)

    def try_certificate(self) -> None:
        self.trial = Trial("certificate", self.active, self.active)

    def connected(self) -> Trial | None:
        trial, self.trial = self.trial, None
        if trial is not None and trial.new != self.active:
            self.active = trial.new
            self._kv.kv_set(KV_PROFILE, str(trial.new))
        return trial

    def failed(self) -> Trial | None:
        trial = self.trial
        if trial is None:
            return None
        trial.attempts += 1
        if trial.attempts < self.max_attempts:
            return None
        self.trial = None
        return trial

    def abandon(self) -> Trial | None:
        trial, self.trial = self.trial, None
        return trial
