"""chargepoint: a Raspberry Pi EV charging station controller speaking OCPP."""

__version__ = "0.1.0"
