"""Proximity pilot (PP) of a Type 2 socket: the cable's coding resistor Rc to PE.

Circuit (docs/hardware.md): PP pulled up to ``supply_v`` through ``pullup_ohm``; the MCP3008
reads the PP node (reference ``adc_vref``). With ``v`` the node voltage,
``Rc = pullup_ohm * v / (supply_v - v)``.

Coding (IEC 61851-1:2017 Annex B, Table B.2; IEC 62196-2): 1.5 kOhm 13 A, 680 Ohm 20 A,
220 Ohm 32 A, 100 Ohm 63 A. The interpretation bands below are the EVSE ranges of that table.
A value between two bands is read as the *lower* current (the safe side); above the 13 A band
(open) or below the 63 A band (short) there is no valid cable: ``None``.
"""

from __future__ import annotations

from hardware.pilot.control import AnalogInput

# (lowest ohm, highest ohm, rating A), ascending resistance.
PP_BANDS: tuple[tuple[float, float, int], ...] = (
    (75.0, 143.0, 63),
    (164.0, 308.0, 32),
    (400.0, 936.0, 20),
    (1100.0, 2460.0, 13),
)


def rating_for_ohm(ohm: float | None) -> int | None:
    """The cable rating for a measured resistance (``None``: open, short or no reading)."""
    if ohm is None or ohm < PP_BANDS[0][0] or ohm > PP_BANDS[-1][1]:
        return None
    for i, (lo, hi, amps) in enumerate(PP_BANDS):
        if lo <= ohm <= hi:
            return amps
        if i + 1 < len(PP_BANDS) and hi < ohm < PP_BANDS[i + 1][0]:
            return PP_BANDS[i + 1][2]  # gap: the lower current of the two neighbours
    return None


class AdcProximityPilot:
    """Implements ``hardware.interfaces.ProximityPilot`` over one ADC channel."""

    def __init__(
        self,
        adc: AnalogInput,
        *,
        pullup_ohm: float = 330.0,
        supply_v: float = 3.3,
        adc_vref: float = 3.3,
        samples: int = 8,
    ) -> None:
        if pullup_ohm <= 0 or supply_v <= 0 or adc_vref <= 0 or samples < 1:
            raise ValueError("pullup_ohm, supply_v, adc_vref and samples must be > 0")
        self._adc = adc
        self._pullup = pullup_ohm
        self._supply = supply_v
        self._vref = adc_vref
        self._samples = samples

    def resistance_ohm(self) -> float | None:
        """Rc from the averaged samples; ``None`` when the node sits at the supply (open)."""
        v = sum(self._adc.value for _ in range(self._samples)) / self._samples * self._vref
        if v >= self._supply * 0.995:
            return None
        return self._pullup * v / (self._supply - v)

    def cable_rating_a(self) -> int | None:
        return rating_for_ohm(self.resistance_ohm())
