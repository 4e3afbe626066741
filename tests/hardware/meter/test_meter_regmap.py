"""Register maps: every shipped map loads; the loader names file and key; the codec."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hardware.meter.regmap import (
    QUANTITIES,
    MapError,
    decode,
    encode,
    is_not_available,
    list_models,
    load_map,
    load_model,
    parse_map,
)

SHIPPED = ["abb_b23", "em340", "orno_we516", "pac2200", "sdm230", "sdm630", "sdm72"]

GOOD = """
[model]
description = "test meter"
function = 4
type = "float32"
max_registers = 80
turnaround_s = 0.0
baudrate = 9600
parity = "N"
stopbits = 1

[quantities]
energy_import = { address = 0x48, scale = 1000.0 }
"""


def test_list_models_names_every_shipped_map_with_a_description() -> None:
    models = list_models()
    assert sorted(models) == SHIPPED
    assert all(desc and "\n" not in desc for desc in models.values())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_map_is_consistent(name: str) -> None:
    m = load_model(name)
    assert m.name == name
    assert m.field("energy_import") is not None
    assert all(f.quantity in QUANTITIES for f in m.fields)
    assert all(f.count <= m.max_registers for f in m.fields)


def test_facts_from_the_reference() -> None:
    sdm = load_model("sdm630")
    e = sdm.field("energy_import")
    assert e is not None and (e.function, e.address, e.type, e.scale) == (4, 0x48, "float32", 1000)
    abb = load_model("abb_b23")
    e = abb.field("energy_import")
    assert e is not None and (e.function, e.address, e.type, e.scale) == (3, 0x5000, "uint64", 10)
    em = load_model("em340")
    e = em.field("energy_import")
    assert e is not None and (e.address, e.type, e.word_order) == (0x34, "int32", "lsw")
    f = em.field("frequency")
    assert f is not None and (f.address, f.type) == (0x33, "int16")
    pac = load_model("pac2200")
    e = pac.field("energy_import")
    assert e is not None and (e.address, e.type, e.scale) == (801, "float64", 1.0)


def test_em340_low_word_first() -> None:
    f = load_model("em340").field("energy_import")
    assert f is not None
    # raw 0x0001_0002 tenths of kWh, low word sent first
    assert decode(f, [0x0002, 0x0001]) == pytest.approx(0x00010002 * 100)
    assert encode(f, 0x00010002 * 100) == [0x0002, 0x0001]


def test_big_endian_float_and_signed_int() -> None:
    v = load_model("sdm630").field("voltage_l1")
    assert v is not None
    assert encode(v, 230.0) == [0x4366, 0x0000]
    p = load_model("abb_b23").field("power")
    assert p is not None
    assert decode(p, [0xFFFF, 0xFF9C]) == pytest.approx(-1.0)  # -100 * 0.01 W


def test_abb_not_available_sentinels() -> None:
    abb = load_model("abb_b23")
    power, energy = abb.field("power"), abb.field("energy_import")
    assert power is not None and energy is not None
    assert is_not_available(abb, power, [0x7FFF, 0xFFFF])
    assert not is_not_available(abb, power, [0xFFFF, 0xFFFF])  # -1: a real value
    assert is_not_available(abb, energy, [0xFFFF] * 4)


def test_nan_decodes_as_nan_for_the_caller_to_reject() -> None:
    v = load_model("sdm630").field("voltage_l1")
    assert v is not None
    assert math.isnan(decode(v, [0x7FC0, 0x0000]))


def test_integer_out_of_range_is_refused() -> None:
    f = load_model("abb_b23").field("voltage_l1")
    assert f is not None
    with pytest.raises(ValueError):
        encode(f, -1.0)


def test_load_map_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mymeter.toml"
    path.write_text(GOOD)
    m = load_map(path)
    assert m.name == "mymeter" and m.max_registers == 80


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("function = 4", "function = 5", "'function'"),
        ('type = "float32"', 'type = "float16"', "'type'"),
        ("max_registers = 80", "max_registers = 200", "'max_registers'"),
        ('parity = "N"', 'parity = "X"', "'parity'"),
        ("energy_import =", "energy_importt =", "energy_importt"),
        ("energy_import =", "voltage_l1 =", "'energy_import'"),
        ("address = 0x48,", "adress = 0x48,", "'adress'"),
        ("baudrate = 9600", 'baudrate = "fast"', "'baudrate'"),
        ('description = "test meter"\n', "", "'description'"),
    ],
)
def test_loader_error_names_file_and_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in GOOD
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(MapError) as err:
        load_map(path)
    assert str(path) in str(err.value)
    assert key in str(err.value)


def test_loader_rejects_bad_toml_and_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(MapError, match="not valid TOML"):
        parse_map("x", "[model", "x.toml")
    with pytest.raises(MapError, match="unknown meter model 'nosuch'"):
        load_model("nosuch")
    with pytest.raises(MapError, match="cannot read"):
        load_map(tmp_path / "missing.toml")


def test_not_available_must_match_the_type_width() -> None:
    text = GOOD + '\n[not_available]\nuint32 = "FFFF"\n'
    with pytest.raises(MapError, match=r"x\.toml: \[not_available\]: key 'uint32'"):
        parse_map("x", text, "x.toml")
