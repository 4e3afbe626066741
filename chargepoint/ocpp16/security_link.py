"""The OCPP 1.6 connection under the security whitepaper: ``SecurityLink`` is the adapter's
``LinkSecurity`` (see ``adapter.py``): the version-neutral ``chargepoint.security.link``
with the AuthorizationKey of the 1.6 configuration as the Basic auth password."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chargepoint.security import link as neutral
from chargepoint.security.events import SecurityEvents
from chargepoint.security.identity import StationIdentity
from chargepoint.security.profile import ProfileLink

if TYPE_CHECKING:
    from cryptography import x509

    from chargepoint.ocpp16.adapter import Ocpp16Adapter


class SecurityLink(neutral.SecurityLink):
    def __init__(self, adapter: Ocpp16Adapter, events: SecurityEvents, link: ProfileLink,
                 identity: StationIdentity, roots_bundle: Path, *,
                 tls_url: str | None = None,
                 roots_of_issuer: Callable[[x509.Name], set[str]] | None = None) -> None:
        def authorization_key() -> str | None:
            try:
                return adapter.config.value("AuthorizationKey") or None
            except KeyError:
                return None

        super().__init__(adapter, events, link, identity, roots_bundle,
                         authorization_key=authorization_key, tls_url=tls_url,
                         roots_of_issuer=roots_of_issuer)
