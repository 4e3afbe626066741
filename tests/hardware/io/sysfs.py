"""A tmp-dir ``/sys/class/pwm`` with a thread playing the kernel, and a strict SysfsPwm.

``FakePwmChip`` makes ``pwmchipN/export`` a FIFO: a thread reads each channel number written to
it and creates ``pwmM/`` with the kernel's attribute files, as the kernel does on export.
``StrictSysfsPwm`` enforces the kernel's rules on every write (EINVAL for duty > period or
enabling with period 0, EBUSY for a polarity change while enabled) and records the writes.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

from hardware.pilot import SysfsPwm


class FakePwmChip:
    def __init__(self, root: Path, chip: int = 0, *, npwm: int = 2, create: bool = True) -> None:
        self.dir = root / f"pwmchip{chip}"
        self.dir.mkdir(parents=True)
        (self.dir / "npwm").write_text(f"{npwm}\n")
        self._npwm = npwm
        self._create = create
        self.exported: list[int] = []
        os.mkfifo(self.dir / "export")
        self._stop = False
        self._thread = threading.Thread(target=self._kernel, daemon=True)
        self._thread.start()

    def add_channel(self, channel: int, *, period: int = 0, duty: int = 0, enable: int = 0,
                    polarity: str = "normal") -> Path:
        d = self.dir / f"pwm{channel}"
        d.mkdir()
        for name, value in (("period", period), ("duty_cycle", duty), ("enable", enable),
                            ("polarity", polarity)):
            (d / name).write_text(f"{value}\n")
        return d

    def _kernel(self) -> None:
        while not self._stop:
            with open(self.dir / "export") as f:  # blocks until a writer comes
                text = f.read().strip()
            if self._stop or not text:
                continue
            channel = int(text)
            self.exported.append(channel)
            if self._create and channel < self._npwm:
                self.add_channel(channel)

    def close(self) -> None:
        self._stop = True
        deadline = time.monotonic() + 5
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:  # wake the reader blocked in open(); ENXIO: it is not there (yet)
                os.close(os.open(self.dir / "export", os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
            self._thread.join(timeout=0.01)


class StrictSysfsPwm(SysfsPwm):
    writes: list[tuple[str, str]]

    def _write(self, name: str, value: str) -> None:
        if not hasattr(self, "writes"):
            self.writes = []
        cur = {n: self._read(n) for n in ("period", "duty_cycle", "enable")}
        period, duty = int(cur["period"]), int(cur["duty_cycle"])
        if name == "period" and int(value) < duty:
            raise OSError(errno.EINVAL, "period < duty_cycle")
        if name == "duty_cycle" and int(value) > period:
            raise OSError(errno.EINVAL, "duty_cycle > period")
        if name == "polarity" and cur["enable"] == "1":
            raise OSError(errno.EBUSY, "polarity while enabled")
        if name == "enable" and value == "1" and period == 0:
            raise OSError(errno.EINVAL, "enable with period 0")
        self.writes.append((name, value))
        super()._write(name, value)
