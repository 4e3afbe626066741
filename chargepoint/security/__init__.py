"""Security functions every OCPP version shares (OCPP 1.6 security whitepaper edition 3, the
A, M and N blocks of OCPP 2.0.1).

- ``events``: the security events (section 8 table), raised where they happen, kept in the
  security log and handed to the adapter's durable queue.
- ``seclog``: the persistent, rotated security log (GetLog SecurityLog).
- ``certificates``: root certificates (CSMS and manufacturer) with their OCSP hash data.
- ``identity``: the station's own key pair, CSR and client certificate (A02/A03).
- ``tls``: the TLS client context (version, cipher suites) and what a failed handshake means.
- ``profile``: the security profile in use, its prerequisites and the upgrade with fallback (A05).
- ``guards``: replayed message ids and memory exhaustion.
- ``link``: the connection's profile and credentials, asked by each adapter's connection loop.
- ``durable``: security events into the store's outbound queue (SecurityEventNotification).

Nothing here knows a message name of one OCPP version but SecurityEventNotification: the
adapters (``chargepoint.ocpp16.security_handlers``, ``chargepoint.ocpp201.security``)
translate.
"""
