from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chargepoint.store.db import Store
from tests.ocpp16.unit.ocppunit_store import open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "state.db")
    yield s
    s.close()
