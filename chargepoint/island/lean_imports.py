"""Keep ``ssl`` out of the simulated island's memory (issue 14: the station's footprint).

asyncio imports ``ssl`` if it can (about 1 MiB private, 4 MiB RSS with libssl mapped). The
island on real pins loads no asyncio at all; on the simulated bench it hosts the virtual
devices on asyncio, over a unix socket and a pty, and speaks no TLS. ``without_tls()`` marks
``ssl`` absent before asyncio is imported, which asyncio supports (it then offers no TLS), so
the simulated island carries no more than a real one. For the island process only
(``process._safety_hardware``): it changes what later imports in the process see.
"""

from __future__ import annotations

import sys


def without_tls() -> bool:
    """Make ``import ssl`` fail from now on; False if it is loaded already (nothing to save)."""
    if "ssl" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True
