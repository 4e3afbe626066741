"""`chargepoint sim house` and `sim fault site`: parsed and forwarded to the daemon."""

from __future__ import annotations

import pytest

from tests.app.conftest import FakeTarget
from tests.app.test_app_cli import cli, sock

__all__ = ["sock"]  # the fixture


async def test_site_sim_commands_forward_their_arguments(sock: str, target: FakeTarget) -> None:
    for argv in (["house", "22.5"], ["fault", "site", "meter"], ["fault", "site", "none"]):
        assert (await cli("--socket", sock, "sim", *argv))[0] == 0
    assert [c[1] for c in target.calls] == [
        ("house", {"amps": 22.5}), ("fault", {"connector": "site", "kind": "meter"}),
        ("fault", {"connector": "site", "kind": "none"})]


@pytest.mark.parametrize("argv", [
    ["sim", "house"], ["sim", "house", "-1"], ["sim", "house", "lots"],
    ["sim", "fault", "grid", "meter"],
])
async def test_bad_site_sim_usage_is_exit_2(argv: list[str]) -> None:
    assert (await cli(*argv))[0] == 2


def test_status_shows_the_site_line() -> None:
    from chargepoint.cli import render

    doc = {"station": {}, "ocpp": {}, "connectors": [],
           "site": {"max_current_a": 32.0, "grid_current_a": [20.0, 21.5, 19.0],
                    "house_current_a": [4.0, 5.5, 3.0], "available_a": 26.5,
                    "meter_ok": True}}
    assert render.status(doc).splitlines()[-1] == (
        "Site  limit 32 A  grid 20.0/21.5/19.0 A  house 4.0/5.5/3.0 A  available 26.5 A")
    doc["site"] = {"max_current_a": 32.0, "meter_ok": False}
    assert "UNREADABLE" in render.status(doc).splitlines()[-1]
    del doc["site"]
    assert "Site" not in render.status(doc)
