"""The benchmark must not rot: a ``--quick`` run produces every figure with its baseline.

Timing values are never asserted (the bench measures, it does not judge); what is asserted is
that each figure was measured and carries numbers for ours and the baseline.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.csms import Csms
from bench.report import Figure, document, table
from bench.runner import KEYS
from bench.station_config import config_text
from bench.stats import percentile, summary_ms
from chargepoint.config import config_from_toml

ROOT = Path(__file__).resolve().parents[2]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@pytest.mark.timeout(240)
def test_bench_quick_run_writes_every_figure(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=220, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [path] = list(tmp_path.glob("*.json"))
    doc = json.loads(path.read_text())
    assert doc["mode"] == "quick"
    assert set(doc["figures"]) == set(KEYS)
    for key, fig in doc["figures"].items():
        assert fig["measured"], f"{key}: {fig['reason']}"
        assert fig["rows"], key
        for row in fig["rows"]:
            assert _number(row["ours"]), (key, row)
            assert _number(row["baseline"]), (key, row)
            assert row["baseline_label"], (key, row)
        assert key in proc.stdout  # the table shows it too
    safety = doc["figures"]["safety_reaction"]["details"]
    for scenario in ("idle", "flood", "hostile"):
        assert safety[scenario]["all_ms"]["count"] == doc["sizes"]["safety_events"]
        assert safety[scenario]["to_A_ms"]["count"] > 0  # unplugs were injected too
    assert safety["flood"]["load"]["answered"] > 0
    assert safety["hostile"]["load"]["send_local_list"] > 0
    frozen = safety["idle"]["frozen"]
    assert frozen["pilot_ms"]["count"] == frozen["after_lease_ms"]["count"] == (
        doc["sizes"]["freeze_events"])
    for key in ("offline_replay", "offline_replay_201"):
        replay = doc["figures"][key]["details"]
        assert replay["confirmed"] == doc["sizes"]["replay_messages"], key
    meter = doc["figures"]["meter_polling"]["details"]
    assert meter["faults"] == 0


def _quick(tmp_path: Path, only: str) -> tuple[dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", only, "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=100, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [path] = list(tmp_path.glob("*.json"))
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc, proc.stdout


@pytest.mark.timeout(120)
def test_bench_quick_ocpp201_figures_beside_their_baselines(tmp_path: Path) -> None:
    """The 2.0.1 figures alone (``--only``): the station under 2.0.1 answers every GetVariables
    of the load like the bare ``ocpp.v201`` client, and drains every queued TransactionEvent."""
    doc, out = _quick(tmp_path, "request_latency_201,offline_replay_201")
    assert list(doc["figures"]) == ["request_latency_201", "offline_replay_201"]
    for key, fig in doc["figures"].items():
        assert fig["measured"], f"{key}: {fig['reason']}"
        assert all(_number(r["ours"]) and _number(r["baseline"]) for r in fig["rows"]), key
        assert key in out
    latency = doc["figures"]["request_latency_201"]
    assert [r["metric"] for r in latency["rows"]] == ["p50", "p99"]
    for who in ("ours", "bare"):
        load = latency["details"][who]
        assert load["sent"] > 0 and load["errors"] == load["unanswered"] == 0, (who, load)
        assert load["answered"] == load["sent"], (who, load)
        for [answer] in latency["details"]["first_answers"][who]:
            [item] = answer["getVariableResult"]
            assert item["attributeStatus"] == "Accepted", (who, item)
    replay = doc["figures"]["offline_replay_201"]
    assert [r["metric"] for r in replay["rows"]] == ["drain time", "per message"]
    messages = doc["sizes"]["replay_messages"]
    assert replay["details"]["confirmed"] == messages
    assert replay["details"]["csms_received"]["TransactionEvent"] == messages


@pytest.mark.timeout(120)
def test_bench_quick_footprint_2c_idle_and_charging(tmp_path: Path) -> None:
    """The 2-connector footprint alone: idle and charging windows both measured beside the bare
    client, both connectors Available while idle and Charging through the charging window."""
    doc, out = _quick(tmp_path, "footprint_2c")
    assert list(doc["figures"]) == ["footprint_2c"]
    fig = doc["figures"]["footprint_2c"]
    assert fig["measured"], fig["reason"]
    assert "footprint_2c" in out
    metrics = [r["metric"] for r in fig["rows"]]
    for window in ("idle", "charging"):
        for what in ("CPU seconds per minute", "wake-ups per minute", "RSS", "PSS"):
            assert f"{window}: {what}" in metrics
        assert fig["details"][window]["processes"][0] >= 2  # main process + island
    assert all(_number(r["ours"]) and _number(r["baseline"]) for r in fig["rows"])
    assert all(r["ours"] > 0 for r in fig["rows"] if r["unit"] == "MiB")
    statuses = fig["details"]["statuses"]
    assert statuses["idle"] == ["Available", "Available"]
    assert statuses["charging_after"] == ["Charging", "Charging"]
    assert fig["details"]["csms_received"]["StartTransaction"] == 2


def test_bench_station_config_is_valid_for_both_versions(tmp_path: Path) -> None:
    for version in ("1.6", "2.0.1"):
        config = config_from_toml(config_text(tmp_path, "CP-X", "ws://127.0.0.1:9/ocpp",
                                              version))
        assert config.ocpp.version == version
    two = config_from_toml(config_text(tmp_path, "CP-X", "ws://127.0.0.1:9/ocpp", connectors=2))
    assert two.station.connectors == 2
    with pytest.raises(ValueError):
        Csms(version="2.1")


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 1001)]
    assert percentile(values, 50) == 500.0
    assert percentile(values, 99) == 990.0
    assert percentile(values, 99.9) == 999.0
    assert percentile(values, 100) == 1000.0
    assert percentile([3.0], 50) == 3.0
    with pytest.raises(ValueError):
        percentile([], 50)
    assert summary_ms([0.001, 0.002])["max"] == 2.0
    assert summary_ms([]) == {"count": 0}


def test_ratio_table_and_unmeasured_figure() -> None:
    fig = Figure("x", "X")
    fig.row("m", "ms", 5.0, 100.0, "budget")
    fig.row("zero baseline", "s", 1.0, 0.0, "bare")
    assert fig.rows[0].ratio == 0.05
    assert fig.rows[1].ratio is None
    other = Figure("y", "Y").not_measured("the app never landed")
    text = table([fig, other])
    assert "NOT MEASURED: the app never landed" in text
    doc = document([fig, other], {"mode": "quick"})
    assert doc["figures"]["y"]["measured"] is False


@pytest.mark.timeout(120)
def test_bench_quick_meter_figure_keeps_rtu_framing(tmp_path: Path) -> None:
    """The meter figure alone: every poll good without retries, every frame after 3.5 silent
    characters on the emulated wire, and the emulator's own lateness reported beside it."""
    doc, out = _quick(tmp_path, "meter_polling")
    fig = doc["figures"]["meter_polling"]
    assert fig["measured"], fig["reason"]
    assert "meter_polling" in out
    details = fig["details"]
    assert details["faults"] == details["retries"] == details["short_silences"] == 0
    assert _number(details["emulator_late_ms_per_poll"])
    p50 = next(r for r in fig["rows"] if r["metric"] == "poll duration p50")
    # three requests, 26 registers: (3 * (8 + 5 + 2 * 3.5) + 2 * 26) characters of 11 bits
    assert p50["baseline"] == pytest.approx((3 * 20 + 2 * 26) * 11 / 9600 * 1000)
    assert p50["ours"] >= p50["baseline"]  # the emulated wire is never faster than that
