"""What every OCPP-J version shares: the sender's queue, the WebSocket connection and its
security profiles, timestamps, the frame log and its redaction, the bounds at the edge, the
store's reservations across a restart."""
