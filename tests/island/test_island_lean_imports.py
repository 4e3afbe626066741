"""``lean_imports``: what the island keeps out of its memory still works when it is needed.
Each probe runs in a fresh interpreter (the changes are for the whole process)."""

from __future__ import annotations

import subprocess
import sys

# gpiozero imported with importlib.metadata deferred: not loaded by the import, loaded by the
# first lookup of a name (here a mock pin class by name), which finds the same entry points.
_METADATA = """
import sys
from chargepoint.island import lean_imports
assert lean_imports.defer_importlib_metadata()
from gpiozero.pins.mock import MockFactory, MockPWMPin
print("importlib.metadata" in sys.modules)
factory = MockFactory(pin_class="mockpwmpin")
print(factory.pin_class is MockPWMPin, "importlib.metadata" in sys.modules)
"""

# Without ssl, asyncio still serves a unix socket; TLS is refused with an ImportError.
_TLS = """
from chargepoint.island import lean_imports
assert lean_imports.without_tls()
import asyncio, os
async def main():
    async def echo(reader, writer):
        writer.write(await reader.readline()); await writer.drain(); writer.close()
    path = "\\0lean-imports-" + str(os.getpid())
    server = await asyncio.start_unix_server(echo, path)
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(b"hello\\n")
    print((await reader.readline()).decode().strip())
    writer.close(); server.close()
asyncio.run(main())
try:
    import ssl
except ImportError:
    print("no ssl")
"""


def _run(probe: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60).stdout.split("\n")[:-1]


def test_gpiozero_finds_entry_points_by_name_with_importlib_metadata_deferred() -> None:
    assert _run(_METADATA) == ["False", "True True"]


def test_asyncio_without_tls_serves_a_unix_socket() -> None:
    assert _run(_TLS) == ["hello", "no ssl"]


def test_nothing_is_deferred_once_importlib_metadata_is_loaded() -> None:
    probe = ("import importlib.metadata, ssl\n"
             "from chargepoint.island import lean_imports\n"
             "print(lean_imports.defer_importlib_metadata(), lean_imports.without_tls())\n")
    assert _run(probe) == ["False False"]
