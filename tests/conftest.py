"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ocpp16.csms import Csms


@pytest.fixture
async def csms() -> AsyncIterator[Csms]:
    """A loopback CSMS (``ocpp`` library server side) on 127.0.0.1, a free port."""
    server = Csms()
    await server.start()
    yield server
    await server.stop()
