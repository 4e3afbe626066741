"""The hardware abstraction layer. Knows nothing about OCPP or sessions."""
