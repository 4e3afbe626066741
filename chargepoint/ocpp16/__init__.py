"""The OCPP 1.6J adapter: translates between the core and a CSMS."""
