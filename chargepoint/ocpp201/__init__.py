"""OCPP 2.0.1 over the station's core (``[ocpp] version = "2.0.1"``); see docs/ocpp201.md."""
