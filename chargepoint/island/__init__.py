"""The safety island: the process that owns the pilot, the contactor, the lock and the safety
inputs, so that no OCPP frame, sqlite call, log write or CLI request can delay opening a
contactor.

- ``rules``: pure. When a contactor must open, and whether a lease may be granted.
- ``wire``: the messages between the main process and the island (one JSON object per
  ``SOCK_SEQPACKET`` datagram).
- ``loop``: the island's synchronous sampling loop (no asyncio, no disk, no network).
- ``options``: ``IslandOptions``, pickled to the island with the config.
- ``process``: ``python -m chargepoint.island``: builds the safety hardware, sets real-time
  scheduling, runs the loop, leaves every output safe when it ends.
- ``simside``: in a simulated station, the island also hosts the bench's virtual EV, relays and
  meter, and answers ``chargepoint sim`` commands on its own socket.
- ``link``: the main process's side: spawns the island, renews leases, and offers the HAL
  interfaces (``ControlPilot``, ``Contactor`` ...) as proxies, so the runtime is unchanged.

docs/architecture.md ("The safety island") shows the shape and every failure mode.
"""
