"""Pure decoding of the control pilot: volts in, debounced ``PilotReading`` out.

Rules (IEC 61851-1:2017, Annex A, Table A.4, EVSE side), applied to the *high* level of the CP
waveform (the maximum of a sample burst spanning more than one PWM period):

=====  =======  ================  =======================================
state  nominal  tolerance band    meaning
=====  =======  ================  =======================================
A      +12 V    11 .. 13 V        no EV
B      +9 V     8 .. 10 V         EV connected
C      +6 V     5 .. 7 V          EV asks for energy
D      +3 V     2 .. 4 V          EV asks for energy, ventilation needed
E      0 V      -1 .. 1 V         CP shorted to PE / error
F      -12 V    -13 .. -11 V      EVSE unavailable (we drive it)
=====  =======  ================  =======================================

Every standard band decodes to its state. Between bands the decision thresholds sit in the
middle of the gaps (10.5, 7.5, 4.5, 1.5 and -6 V); ``hysteresis_v`` (< 0.5 V, so a voltage inside
a neighbour's band is never held back) widens the range of the state currently reported, so a
voltage wandering around a threshold does not flap. A new state is reported only after it was
seen in ``debounce_count`` consecutive bursts spanning at least ``debounce_s``.

Diode check (IEC 61851-1 A.2.3 / Table A.4 note: the EV's diode makes the negative half
-12 V): while PWM is on and an EV is present or the line is idle (A..D), the *low* level of the
burst must be at most ``diode_max_low_v`` (-12 V -1 V tolerance, minus a margin for the front
end). A missing negative level is debounced the same way and reported as ``diode_ok=False``.

A burst that, with PWM on, caught no high-level sample at all (all samples near -12 V, possible
at very small duty cycles) decodes as F for that burst; debouncing filters the rare miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from hardware.interfaces import PilotReading, PilotState

# (state, lower threshold, upper threshold) in volts: mid-gap decision thresholds.
_INF = float("inf")
_THRESHOLDS: tuple[tuple[PilotState, float, float], ...] = (
    (PilotState.A, 10.5, _INF),
    (PilotState.B, 7.5, 10.5),
    (PilotState.C, 4.5, 7.5),
    (PilotState.D, 1.5, 4.5),
    (PilotState.E, -6.0, 1.5),
    (PilotState.F, -_INF, -6.0),
)
_RANGE = {state: (lo, hi) for state, lo, hi in _THRESHOLDS}

# Standard tolerance bands (for documentation, tests and plausibility), volts inclusive.
STANDARD_BANDS: dict[PilotState, tuple[float, float]] = {
    PilotState.A: (11.0, 13.0),
    PilotState.B: (8.0, 10.0),
    PilotState.C: (5.0, 7.0),
    PilotState.D: (2.0, 4.0),
    PilotState.E: (-1.0, 1.0),
    PilotState.F: (-13.0, -11.0),
}

_DIODE_CHECKED = frozenset({PilotState.A, PilotState.B, PilotState.C, PilotState.D})

T = TypeVar("T")


def classify(high_v: float, current: PilotState | None = None, hysteresis_v: float = 0.0) -> (
    PilotState
):
    """The state of one high level; ``current`` keeps its state within ``hysteresis_v``."""
    if current is not None:
        lo, hi = _RANGE[current]
        if lo - hysteresis_v <= high_v < hi + hysteresis_v:
            return current
    for state, lo, _hi in _THRESHOLDS:
        if high_v >= lo:
            return state
    raise AssertionError("unreachable: F has no lower threshold")


class Debounced(Generic[T]):
    """A value that changes only after ``count`` consecutive equal inputs over ``window_s``.

    The first input is adopted at once (there is nothing to debounce against).
    """

    def __init__(self, count: int, window_s: float) -> None:
        if count < 1 or window_s < 0:
            raise ValueError("debounce count must be >= 1 and window >= 0")
        self._count = count
        self._window_s = window_s
        self.value: T | None = None
        self._pending: T | None = None
        self._seen = 0
        self._first = 0.0

    @property
    def pending(self) -> bool:
        """A different input was seen and is not confirmed yet."""
        return self._pending is not None

    def feed(self, candidate: T, now: float) -> T:
        if self.value is None or candidate == self.value:
            self.value = candidate
            self._pending = None
            return candidate
        if candidate != self._pending:
            self._pending, self._seen, self._first = candidate, 0, now
        self._seen += 1
        if self._seen >= self._count and now - self._first >= self._window_s:
            self.value, self._pending = candidate, None
        return self.value


class PilotDecoder:
    """Turns sample bursts (volts at the CP line) into debounced ``PilotReading`` values.

    Pure: no I/O, no clock. Feed every burst with the monotonic time it was taken.
    """

    def __init__(
        self,
        *,
        hysteresis_v: float = 0.3,
        debounce_count: int = 3,
        debounce_s: float = 0.0,
        diode_max_low_v: float = -10.0,
    ) -> None:
        if not 0.0 <= hysteresis_v < 0.5:
            raise ValueError("hysteresis_v must be in [0, 0.5) V: the gaps are 1 V wide")
        self._hysteresis_v = hysteresis_v
        self._diode_max_low_v = diode_max_low_v
        self._state: Debounced[PilotState] = Debounced(debounce_count, debounce_s)
        self._diode: Debounced[bool] = Debounced(debounce_count, debounce_s)

    @property
    def state(self) -> PilotState | None:
        """The debounced state, ``None`` before the first burst."""
        return self._state.value

    @property
    def settling(self) -> bool:
        """A new state or diode verdict was seen and awaits confirmation by more bursts (the
        caller may sample sooner than usual to confirm or drop it)."""
        return self._state.pending or self._diode.pending

    def feed(self, volts: Sequence[float], now: float, *, pwm_on: bool) -> PilotReading:
        """Decode one burst. ``pwm_on``: a real square wave (0 < duty < 100 %) was output.

        Raises ``ValueError`` for an empty burst.
        """
        if not volts:
            raise ValueError("empty sample burst")
        high = max(volts)
        low = min(volts) if pwm_on else None
        state = self._state.feed(classify(high, self._state.value, self._hysteresis_v), now)
        diode_candidate = not (
            low is not None and state in _DIODE_CHECKED and low > self._diode_max_low_v
        )
        diode_ok = self._diode.feed(diode_candidate, now)
        return PilotReading(state=state, high_v=high, low_v=low, diode_ok=diode_ok)
