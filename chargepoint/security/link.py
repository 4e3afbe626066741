"""The connection under security profiles 1-3, for every OCPP version: ``SecurityLink`` is
what an adapter's connection loop asks before and after each attempt (1.6: ``LinkSecurity`` of
``ocpp16/adapter.py``; 2.0.1: ``ocpp201/adapter.py``). It knows no message name.

``SecurityLink(host, events, link, identity, roots_bundle, authorization_key=...)``: ``host``
is the adapter (``LinkHost``: its configured ``options``, ``spawn``, ``reconnect``);
``authorization_key()`` the Basic auth password the CSMS set, if any (1.6 AuthorizationKey,
2.0.1 SecurityCtrlr.BasicAuthPassword), else the configured one is used.

- ``connect_options(options)``: a copy of the adapter's options (a dataclass) with the profile
  to connect with (``ProfileLink.effective``: the one in use or the one being tried) and its
  credentials: wss:// (``tls_url``) with the CSMS roots bundle for 2/3, the password for 1/2,
  the installed client certificate (else the configured one) for 3. Profile 1 over ws:// is
  logged as a warning once.
- ``connect_failed(exc)``: the security event the failure stands for
  (``chargepoint.security.tls.failure_event``); a profile or certificate being tried is
  abandoned after ``ProfileLink.max_attempts`` failures: back to the previous one, with a
  ReconfigurationOfSecurityParameters event (A05.FR.08, A02.FR.10).
- ``connected(ws)``: commits a trial (A05.FR.07); notes which CSMS root validated the server
  (M04.FR.06) and starts a fresh ``ReplayGuard``.
- ``invalid_message`` / ``replayed``: InvalidMessages / AttemptedReplayAttacks.
- ``upgrade(new)``: the SecurityProfile change the configuration accepted: try it from the
  next connection on and reconnect once the answer is on the wire (A05.FR.06).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from websockets.asyncio.client import ClientConnection

from chargepoint.security import events as ev
from chargepoint.security.events import SecurityEvents
from chargepoint.security.guards import ReplayGuard
from chargepoint.security.identity import StationIdentity
from chargepoint.security.profile import ProfileLink, Trial
from chargepoint.security.tls import failure_event

if TYPE_CHECKING:
    from cryptography import x509

LOG = logging.getLogger("chargepoint.security")


class ConnectTarget(Protocol):
    """The part of an adapter's options (a dataclass) the link reads and replaces."""

    @property
    def url(self) -> str: ...
    @property
    def security_profile(self) -> int: ...
    @property
    def password(self) -> str | None: ...


Options = TypeVar("Options", bound=ConnectTarget)


class LinkHost(Protocol):
    """The adapter as the link sees it."""

    @property
    def options(self) -> ConnectTarget:
        """The configured options (url, security_profile, password)."""

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

    async def reconnect(self) -> None:
        """Close the connection (after a grace for the answer just sent); the loop reconnects."""


def tls_url_of(url: str) -> str:
    """The wss:// URL of a ws:// one (same host, port and path)."""
    return "wss://" + url.removeprefix("ws://") if url.startswith("ws://") else url


def plain_url_of(url: str) -> str:
    return "ws://" + url.removeprefix("wss://") if url.startswith("wss://") else url


class SecurityLink:
    def __init__(self, host: LinkHost, events: SecurityEvents, link: ProfileLink,
                 identity: StationIdentity, roots_bundle: Path, *,
                 authorization_key: Callable[[], str | None] = lambda: None,
                 tls_url: str | None = None,
                 roots_of_issuer: Callable[[x509.Name], set[str]] | None = None) -> None:
        self._host = host
        self._authorization_key = authorization_key
        self.events = events
        self.link = link
        self.identity = identity
        self.roots_bundle = roots_bundle
        self.tls_url = tls_url or tls_url_of(host.options.url)
        self.plain_url = plain_url_of(host.options.url)
        self._roots_of_issuer = roots_of_issuer or (lambda _name: set())
        self.roots_in_use: set[str] = set()  # serial numbers (hex) of the CSMS root in use
        self._replays = ReplayGuard()
        self._warned_plain = False

    # -- LinkSecurity
    def connect_options(self, options: Options) -> Options:
        profile = self.link.effective
        changes: dict[str, object] = {"security_profile": profile}
        if profile >= 2:
            changes["url"] = self.tls_url  # raised from 0/1: the same endpoint over TLS
        elif self._host.options.security_profile >= 2:
            changes["url"] = self.plain_url  # cannot happen: a profile is never lowered
        if profile in (1, 2):
            changes["password"] = self._authorization_key() or options.password
        else:
            changes["password"] = None
        if profile >= 2:
            changes["ca_file"] = str(self.roots_bundle)
        pair = self.identity.client_pair()
        if profile == 3 and pair is not None:
            changes["cert_file"], changes["key_file"] = str(pair[0]), str(pair[1])
        if profile == 1 and not self._warned_plain:
            self._warned_plain = True
            LOG.warning("security profile 1: the password travels without TLS (ws://); use "
                        "it only inside a VPN (whitepaper A00.FR.201)")
        return cast(Options, dataclasses.replace(cast(Any, options), **changes))

    def connect_failed(self, exc: BaseException) -> None:
        found = failure_event(exc)
        if found is not None:
            self.events.raise_event(*found)
        trial = self.link.failed()
        if trial is not None:
            self._abandon(trial, exc)

    def connected(self, ws: ClientConnection) -> None:
        self._replays = ReplayGuard()
        self.roots_in_use = self._roots_validating(ws)
        trial = self.link.connected()
        if trial is None:
            return
        if trial.kind == "profile":
            LOG.warning("connected with security profile %d (was %d)", trial.new, trial.previous)
        else:
            LOG.warning("connected with the new charge point certificate")

    def invalid_message(self, reason: str) -> None:
        self.events.raise_event(ev.INVALID_MESSAGES, reason)

    def replayed(self, unique_id: str) -> bool:
        if not self._replays.seen(unique_id):
            return False
        self.events.raise_event(ev.ATTEMPTED_REPLAY_ATTACKS,
                                f"CALL id {unique_id[:36]!r} used twice on one connection")
        return True

    # -- upgrades and fallbacks
    def upgrade(self, new: int) -> None:
        """SecurityProfile ``new`` was accepted (call from the ChangeConfiguration handler)."""
        previous = self.link.effective
        self.link.try_profile(new)
        self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS,
                                f"SecurityProfile {previous} -> {new}")
        self.reconnect_after_answer()

    def use_new_certificate(self) -> None:
        """A new client certificate was installed: with profile 3, connect with it now."""
        if self.link.active == 3:
            self.link.try_certificate()
            self.reconnect_after_answer()

    def reconnect_after_answer(self) -> None:
        """Reconnect once the CSMS request being handled now is answered (the task handling it
        ends right after its .conf was sent)."""
        handling = asyncio.current_task()

        async def later() -> None:
            if handling is not None:
                await asyncio.wait({handling})
            await self._host.reconnect()  # (after the adapter's ANSWER_GRACE_S)

        self._host.spawn(later())

    def _abandon(self, trial: Trial, exc: BaseException) -> None:
        if trial.kind == "certificate":
            restored = self.identity.fall_back()
            info = "new charge point certificate did not connect: " + (
                "previous one restored" if restored else "no previous one")
        else:
            info = (f"SecurityProfile {trial.new} did not connect "
                    f"({type(exc).__name__}): back to {trial.previous}")
        LOG.error("%s", info)
        self.events.raise_event(ev.RECONFIGURATION_OF_SECURITY_PARAMETERS, info)

    def _roots_validating(self, ws: ClientConnection) -> set[str]:
        ssl_object = ws.transport.get_extra_info("ssl_object") if ws.transport else None
        if ssl_object is None:
            return set()
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            return set()
        from cryptography import x509

        try:
            leaf = x509.load_der_x509_certificate(der)
        except ValueError:
            return set()
        return self._roots_of_issuer(leaf.issuer)
