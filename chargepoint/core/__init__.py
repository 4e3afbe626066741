"""The pure charging core: events in, actions out. No I/O, no asyncio, no clock reads."""
