"""Hardware PWM through the Linux kernel sysfs interface (``/sys/class/pwm``).

Layout (Documentation/driver-api/pwm.rst): ``pwmchipN/export`` takes a channel number and the
kernel creates ``pwmchipN/pwmM/`` with ``period``, ``duty_cycle`` (both ns), ``polarity``
(``normal``/``inversed``) and ``enable``. The kernel rejects ``duty_cycle > period`` (EINVAL) and,
with most drivers, a polarity change while enabled (EBUSY); so we disable first, zero the duty
before changing the period, and only then set polarity, duty and enable.

On a Raspberry Pi, ``dtoverlay=pwm`` (GPIO18 = PWM0 channel 0) or ``dtoverlay=pwm-2chan`` gives
the chip; see docs/hardware.md for the chip number on Pi 4 vs Pi 5.

Duty is given in percent of *high* time at the pin (``inverted=False``) or at the CP line
through an inverting stage (``inverted=True`` writes ``polarity = inversed``). 0 % is a
constant low, 100 % a constant high. Resolution: 1 ns of a 1 ms period (0.0001 %).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from pathlib import Path


class SysfsPwm:
    """One PWM channel. Construction exports and configures it (output disabled until the first
    ``set_duty``); it blocks up to ``export_timeout_s`` for the kernel (and udev, which fixes the
    permissions) to create the channel directory and raises ``OSError`` if it does not appear.
    """

    def __init__(
        self,
        chip: int,
        channel: int,
        *,
        root: Path = Path("/sys/class/pwm"),
        frequency_hz: float = 1000,
        inverted: bool = False,
        export_timeout_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if frequency_hz <= 0:
            raise ValueError("frequency_hz must be > 0")
        self._chip = root / f"pwmchip{chip}"
        self._channel = channel
        self._dir = self._chip / f"pwm{channel}"
        self._sleep = sleep
        self.period_ns = round(1e9 / frequency_hz)
        self._duty_ns: int | None = None
        self._enabled = False
        self._export(export_timeout_s)
        self._configure(inverted)

    @property
    def path(self) -> Path:
        """The channel directory, e.g. ``/sys/class/pwm/pwmchip0/pwm0``."""
        return self._dir

    def _write(self, name: str, value: str) -> None:
        """Write one sysfs attribute (one ``write`` call, as the kernel expects)."""
        with open(self._dir / name, "w") as f:
            f.write(value)

    def _read(self, name: str) -> str:
        return (self._dir / name).read_text().strip()

    def _export(self, timeout_s: float) -> None:
        if self._dir.is_dir():
            return
        if not self._chip.is_dir():
            raise OSError(errno.ENODEV, f"no PWM chip at {self._chip} (dtoverlay=pwm missing?)")
        with open(self._chip / "export", "w") as f:
            f.write(str(self._channel))
        deadline = time.monotonic() + timeout_s
        # The kernel creates pwmM/ synchronously, udev then changes owner/mode asynchronously.
        while not (self._dir / "enable").exists():
            if time.monotonic() >= deadline:
                raise OSError(errno.ETIMEDOUT, f"{self._dir} did not appear after export")
            self._sleep(0.01)

    def _configure(self, inverted: bool) -> None:
        self._write("enable", "0")
        self._enabled = False
        # duty 0 is valid for every period: zero it before shrinking or growing the period.
        self._write("duty_cycle", "0")
        self._write("period", str(self.period_ns))
        self._write("polarity", "inversed" if inverted else "normal")
        self._duty_ns = 0

    def set_duty(self, percent: float) -> None:
        """Output ``percent`` (0..100) high time and enable. Raises ``ValueError`` outside."""
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"duty must be within 0..100 %, got {percent!r}")
        duty_ns = round(self.period_ns * percent / 100.0)
        if duty_ns != self._duty_ns:
            self._write("duty_cycle", str(duty_ns))
            self._duty_ns = duty_ns
        if not self._enabled:
            self._write("enable", "1")
            self._enabled = True

    @property
    def duty_ns(self) -> int | None:
        return self._duty_ns

    @property
    def enabled(self) -> bool:
        return self._enabled

    def disable(self) -> None:
        """Stop the PWM (the pin level is then driver-defined; prefer ``set_duty(0/100)``)."""
        self._write("enable", "0")
        self._enabled = False

    def read_back(self) -> tuple[int, int, bool]:
        """(period_ns, duty_ns, enabled) as the kernel reports them (for selftest)."""
        return int(self._read("period")), int(self._read("duty_cycle")), self._read("enable") == "1"
