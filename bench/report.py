"""Figures, their rows (ours beside the baseline), the printed table and the JSON file.

Every figure is a ``Figure``; each of its rows compares one metric of ours with its baseline
measured in the same invocation. A figure that could not be measured says why
(``not_measured(reason)``) instead of showing numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Row:
    """One metric: ours, the baseline and their ratio (ours / baseline)."""

    metric: str
    unit: str
    ours: float | None
    baseline: float | None
    baseline_label: str
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.ours is not None and self.baseline:
            self.ratio = round(self.ours / self.baseline, 3)


@dataclass(slots=True)
class Figure:
    """One figure of the bench. ``key`` is the JSON key, ``title`` the table heading."""

    key: str
    title: str
    measured: bool = True
    reason: str | None = None  # why it was not measured
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float | None = None

    def row(
        self,
        metric: str,
        unit: str,
        ours: float | None,
        baseline: float | None,
        baseline_label: str,
    ) -> None:
        self.rows.append(Row(metric, unit, ours, baseline, baseline_label))

    def not_measured(self, reason: str) -> Figure:
        self.measured = False
        self.reason = reason
        return self


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    """The human-readable table: one block per figure, one line per row."""
    lines: list[str] = []
    header = f"  {'metric':<44} {'unit':<8} {'ours':>10} {'baseline':>10} {'ratio':>7}  baseline is"
    for fig in figures:
        took = f" ({fig.elapsed_s:.1f} s)" if fig.elapsed_s is not None else ""
        lines.append(f"[{fig.key}] {fig.title}{took}")
        if not fig.measured:
            lines.append(f"  NOT MEASURED: {fig.reason}")
            continue
        lines.append(header)
        for r in fig.rows:
            lines.append(
                f"  {r.metric:<44} {r.unit:<8} {_fmt(r.ours):>10} {_fmt(r.baseline):>10} "
                f"{_fmt(r.ratio):>7}  {r.baseline_label}"
            )
    return "\n".join(lines)


def document(figures: list[Figure], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: ``meta`` plus ``figures`` keyed by figure key."""
    return {**meta, "figures": {f.key: asdict(f) for f in figures}}


def write_json(doc: dict[str, Any], directory: Path, stamp: str) -> Path:
    """Write ``doc`` to ``directory/<stamp>.json``; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path
