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

import pytest

from bench.report import Figure, document, table
from bench.runner import KEYS
from bench.stats import percentile, summary_ms

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
    replay = doc["figures"]["offline_replay"]["details"]
    assert replay["confirmed"] == doc["sizes"]["replay_messages"]
    meter = doc["figures"]["meter_polling"]["details"]
    assert meter["faults"] == 0


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
