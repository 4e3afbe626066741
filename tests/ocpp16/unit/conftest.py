from __future__ import annotations

from pathlib import Path

import pytest

from tests.ocpp16.unit.ocppunit_store import FakeStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> FakeStore:
    return open_store(tmp_path)
