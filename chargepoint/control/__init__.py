"""The local control socket: the CLI's way into the running controller."""

from chargepoint.control.client import ControlClient, ControlFailed, ControlUnavailable, request
from chargepoint.control.protocol import MAX_REQUEST, ControlTarget, Refused
from chargepoint.control.server import ControlServer

__all__ = [
    "MAX_REQUEST",
    "ControlClient",
    "ControlFailed",
    "ControlServer",
    "ControlTarget",
    "ControlUnavailable",
    "Refused",
    "request",
]
