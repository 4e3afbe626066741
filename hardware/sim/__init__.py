"""The simulated bench: virtual EV, meter, reader and relays behind the real interfaces.

- ``hardware.sim.bench.SimBench``: the whole station (start it, take ``.hardware``, drive it
  with the ``chargepoint sim`` commands as methods);
- ``hardware.sim.ev.VirtualEV``: how a car answers the pilot and what it draws;
- ``hardware.sim.pilot``: ``SimPilot`` / ``SimProximity`` (ControlPilot / ProximityPilot);
- ``hardware.sim.analog``: ``CpLine`` / ``PpLine``, analog lines for the REAL pilot drivers;
- ``hardware.sim.board``: ``SimBoard``, the real relay classes on a gpiozero MockFactory;
- ``hardware.sim.follower``: ``PinFollower``, mock feedback pins following outputs (faults);
- ``hardware.sim.reader.VirtualReader`` (TokenReader);
- ``hardware.sim.meter_rig.MeterRig``: ``VirtualMeter`` + the real ``ModbusMeter`` driver.
- ``hardware.sim.virtual_meter.VirtualMeter`` on ``hardware.sim.rtu_wire.PtyLink`` (a pty cable,
  optionally at an emulated RTU wire speed).

Nothing is imported here: the modules pull in gpiozero and pymodbus, import what you use.
"""
