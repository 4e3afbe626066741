"""SysfsPwm against a tmp-dir sysfs whose export is served by a thread playing the kernel."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.pilot import SysfsPwm

from .sysfs import FakePwmChip, StrictSysfsPwm


@pytest.fixture
def chip(tmp_path: Path) -> Iterator[FakePwmChip]:
    c = FakePwmChip(tmp_path, 0)
    yield c
    c.close()


def attrs(d: Path) -> dict[str, str]:
    return {n: (d / n).read_text().strip() for n in ("period", "duty_cycle", "enable",
                                                      "polarity")}


def test_exports_waits_and_configures_1khz(chip: FakePwmChip, tmp_path: Path) -> None:
    pwm = StrictSysfsPwm(0, 1, root=tmp_path)
    assert chip.exported == [1]
    assert pwm.path == tmp_path / "pwmchip0" / "pwm1"
    assert attrs(pwm.path) == {"period": "1000000", "duty_cycle": "0", "enable": "0",
                               "polarity": "normal"}
    pwm.set_duty(26.7)  # 16 A
    assert attrs(pwm.path)["duty_cycle"] == "267000"
    assert attrs(pwm.path)["enable"] == "1"
    assert pwm.read_back() == (1_000_000, 267_000, True)
    pwm.set_duty(53.3)
    assert pwm.read_back() == (1_000_000, 533_000, True)
    pwm.set_duty(100.0)
    assert pwm.read_back()[1] == 1_000_000
    pwm.set_duty(0.0)
    assert pwm.read_back() == (1_000_000, 0, True)


def test_resolution_is_better_than_a_tenth_of_a_percent(chip: FakePwmChip,
                                                        tmp_path: Path) -> None:
    pwm = SysfsPwm(0, 0, root=tmp_path)
    seen = set()
    for tenth in range(1, 1001):
        pwm.set_duty(tenth / 10)
        seen.add(pwm.read_back()[1])
    assert len(seen) == 1000


def test_reconfigures_a_channel_left_by_someone_else(chip: FakePwmChip, tmp_path: Path) -> None:
    # 50 Hz servo settings left enabled: 20 ms period, 1.5 ms duty, inversed
    chip.add_channel(0, period=20_000_000, duty=1_500_000, enable=1, polarity="inversed")
    pwm = StrictSysfsPwm(0, 0, root=tmp_path)
    assert chip.exported == []  # already there: no export
    assert pwm.writes[:2] == [("enable", "0"), ("duty_cycle", "0")]
    assert attrs(pwm.path) == {"period": "1000000", "duty_cycle": "0", "enable": "0",
                               "polarity": "normal"}
    pwm.set_duty(10.0)
    assert pwm.read_back() == (1_000_000, 100_000, True)


def test_strict_model_rejects_the_naive_order(chip: FakePwmChip, tmp_path: Path) -> None:
    chip.add_channel(0, period=20_000_000, duty=1_500_000, enable=1)
    pwm = StrictSysfsPwm(0, 0, root=tmp_path)
    (pwm.path / "duty_cycle").write_text("900000")
    (pwm.path / "enable").write_text("1")
    with pytest.raises(OSError):
        pwm._write("period", "500000")
    with pytest.raises(OSError):
        pwm._write("polarity", "normal")


def test_inverted_front_end(chip: FakePwmChip, tmp_path: Path) -> None:
    pwm = StrictSysfsPwm(0, 0, root=tmp_path, inverted=True)
    assert attrs(pwm.path)["polarity"] == "inversed"


def test_missing_chip_is_enodev(tmp_path: Path) -> None:
    with pytest.raises(OSError) as err:
        SysfsPwm(3, 0, root=tmp_path)
    assert err.value.errno == errno.ENODEV


def test_channel_that_never_appears_times_out(tmp_path: Path) -> None:
    chip = FakePwmChip(tmp_path, 0, create=False)
    try:
        with pytest.raises(OSError) as err:
            SysfsPwm(0, 0, root=tmp_path, export_timeout_s=0.05)
        assert err.value.errno == errno.ETIMEDOUT
    finally:
        chip.close()


def test_bad_duty_is_misuse(chip: FakePwmChip, tmp_path: Path) -> None:
    pwm = SysfsPwm(0, 0, root=tmp_path)
    for bad in (-0.1, 100.1):
        with pytest.raises(ValueError):
            pwm.set_duty(bad)
    with pytest.raises(ValueError):
        SysfsPwm(0, 0, root=tmp_path, frequency_hz=0)
