"""Human-readable tables for the CLI (``--json`` prints the documents unchanged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)


def _cell(value: object) -> str:
    return "-" if value is None or value == [] or value == "" else str(value)


def energy(wh: object) -> str | None:
    if not isinstance(wh, int | float):
        return None
    return f"{wh / 1000:.3f} kWh"


def power(w: object) -> str | None:
    if not isinstance(w, int | float):
        return None
    return f"{w / 1000:.2f} kW" if abs(w) >= 1000 else f"{w:.0f} W"


def _phases(values: object, unit: str, fmt: str = ".1f") -> str | None:
    if not isinstance(values, list) or not values:
        return None
    return "/".join(format(v, fmt) if isinstance(v, int | float) else "?" for v in values) + \
        f" {unit}"


def status(doc: dict[str, Any]) -> str:
    station = doc.get("station", {})
    ocpp = doc.get("ocpp", {})
    link = "connected" if ocpp.get("connected") else "offline"
    lines = [
        f"Station {station.get('id', '?')}  firmware {station.get('firmware', '?')}",
        f"OCPP {ocpp.get('version', '?')}  {link}  registration "
        f"{ocpp.get('registration', '?')}  queued {ocpp.get('queued', 0)}",
        "",
    ]
    rows = []
    for c in doc.get("connectors", []):
        tx = c.get("transaction")
        tx_text = f"{tx.get('id')} ({tx.get('id_tag')})" if isinstance(tx, dict) else None
        limit = c.get("limit_a")
        rows.append([c.get("id"), c.get("status"), c.get("pilot"), c.get("contactor"),
                     c.get("lock"), f"{limit:g} A" if isinstance(limit, int | float) else None,
                     energy(c.get("energy_wh")), power(c.get("power_w")), tx_text,
                     ", ".join(c.get("faults") or [])])
    lines.append(table(["CONN", "STATUS", "PILOT", "CONTACTOR", "LOCK", "LIMIT", "ENERGY",
                        "POWER", "TRANSACTION", "FAULTS"], rows))
    site = doc.get("site")
    if isinstance(site, dict):
        lines += ["", _site(site)]
    return "\n".join(lines)


def _site(site: dict[str, Any]) -> str:
    """The ``[site]`` line of ``status`` (docs/site.md)."""
    limit = f"Site  limit {site.get('max_current_a', 0):g} A"
    if not site.get("meter_ok"):
        return f"{limit}  grid meter UNREADABLE: fallback current per connector"
    available = site.get("available_a")
    return (f"{limit}  grid {_phases(site.get('grid_current_a'), 'A', '.1f')}  house "
            f"{_phases(site.get('house_current_a'), 'A', '.1f')}  available "
            f"{available:g} A" if isinstance(available, int | float) else limit)


def meter(doc: dict[str, Any]) -> str:
    rows = []
    for c in doc.get("connectors", []):
        freq = c.get("frequency_hz")
        rows.append([c.get("id"), energy(c.get("energy_wh")), power(c.get("power_w")),
                     _phases(c.get("voltage_v"), "V"), _phases(c.get("current_a"), "A", ".2f"),
                     f"{freq:.2f} Hz" if isinstance(freq, int | float) else None,
                     c.get("error") or c.get("fault")])
    return table(["CONN", "ENERGY", "POWER", "VOLTAGE", "CURRENT", "FREQUENCY", "NOTE"], rows)


def reading(doc: dict[str, Any]) -> str:
    """One probed meter reading (hardware.meter.reading_json)."""
    rows = [
        ["energy import", energy(doc.get("energy_wh"))],
        ["energy export", energy(doc.get("energy_export_wh"))],
        ["power", power(doc.get("power_w"))],
        ["power per phase", _phases(doc.get("power_w_phases"), "W", ".0f")],
        ["voltage", _phases(doc.get("voltage_v"), "V")],
        ["current", _phases(doc.get("current_a"), "A", ".2f")],
        ["frequency", f"{doc['frequency_hz']:.2f} Hz"
         if isinstance(doc.get("frequency_hz"), int | float) else None],
    ]
    return table(["QUANTITY", "VALUE"], rows)


def selftest(doc: dict[str, Any]) -> str:
    rows = [[p.get("part"), "pass" if p.get("ok") else "FAIL", p.get("detail")]
            for p in doc.get("parts", [])]
    verdict = "all parts passed" if doc.get("ok") else "SELFTEST FAILED"
    return table(["PART", "RESULT", "DETAIL"], rows) + f"\n\n{verdict}"
