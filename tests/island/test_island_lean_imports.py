"""``lean_imports``: the simulated island without ``ssl`` still serves its unix socket.
Each probe runs in a fresh interpreter (the changes are for the whole process)."""

from __future__ import annotations

import subprocess
import sys

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


def test_asyncio_without_tls_serves_a_unix_socket() -> None:
    assert _run(_TLS) == ["hello", "no ssl"]


def test_nothing_is_changed_once_ssl_is_loaded() -> None:
    probe = ("import ssl\n"
             "from chargepoint.island import lean_imports\n"
             "print(lean_imports.without_tls())\n")
    assert _run(probe) == ["False"]
