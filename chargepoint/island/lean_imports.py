"""Keep modules the island never uses out of its memory (issue 14: the station's footprint).

The island lives as long as the station; every module it imports costs private memory (code
objects, class dicts) for good. Two come in only as side effects of libraries:

- ``defer_importlib_metadata()``: gpiozero imports ``entry_points`` at module level
  (``importlib_metadata`` first, then the standard library's ``importlib.metadata``), which loads
  ``email``, ``zipfile``, ``csv`` ...: about 1 MiB. It only calls it to find a pin factory or a
  mock pin class *by name* (the default factory on real pins; never on the simulated bench,
  which passes its ``MockFactory``). This registers a small ``importlib_metadata`` module whose
  ``entry_points`` imports the standard library's on its first call and hands over to it: the
  same answer, loaded when needed. Where the real ``importlib_metadata`` backport is installed,
  gpiozero uses it as before (nothing registered).
- ``without_tls()``: asyncio imports ``ssl`` if it can (about 1 MiB); the simulated bench in the
  island speaks no TLS (a unix socket and a pty). Marks ``ssl`` as absent, which asyncio
  supports (it then offers no TLS). Call before asyncio is imported.

Both are for the island process only (``process.main``): they change what later imports in the
process see.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

METADATA = "importlib_metadata"


def entry_points(**params: Any) -> Any:
    """``importlib.metadata.entry_points``, imported on first use."""
    from importlib.metadata import entry_points as real

    return real(**params)


def defer_importlib_metadata() -> bool:
    """Register the deferring module; False where gpiozero would not use it (the backport is
    installed, or ``importlib.metadata`` is loaded already and deferring saves nothing)."""
    if METADATA in sys.modules or "importlib.metadata" in sys.modules:
        return False
    if importlib.util.find_spec(METADATA) is not None:
        return False
    module = types.ModuleType(METADATA, "gpiozero's entry_points, imported on first use")
    module.entry_points = entry_points  # type: ignore[attr-defined]
    sys.modules[METADATA] = module
    return True


def without_tls() -> bool:
    """Make ``import ssl`` fail from now on; False if it is loaded already (nothing to save)."""
    if "ssl" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]
    return True
