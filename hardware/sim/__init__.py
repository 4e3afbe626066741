"""The simulated bench: virtual EV, meter, reader and relays behind the real interfaces."""
