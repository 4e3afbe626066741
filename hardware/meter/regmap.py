"""Register maps: one TOML data file per meter model, loaded and validated here.

A map file (``hardware/meter/maps/<model>.toml``) has a ``[model]`` table with the defaults and
bus facts of the model, an optional ``[not_available]`` table and a ``[quantities]`` table::

    [model]
    description = "one line shown by `chargepoint meter models`"
    function = 4            # default function code: 3 holding / 4 input registers
    type = "float32"        # default data type (see DATA_TYPES)
    word_order = "msw"      # "msw": most significant word first, "lsw": least first
    max_registers = 80      # cap on registers per read request (1..125)
    turnaround_s = 0.010    # the meter's own delay before it answers (wire-time cost)
    baudrate = 9600         # default serial settings
    parity = "N"            # "N", "E" or "O"
    stopbits = 1

    [not_available]         # optional: raw register contents (hex) that mean "no value"
    uint32 = "FFFFFFFF"

    [quantities]            # every key of QUANTITIES that the meter knows
    energy_import = { address = 0x0048, scale = 1000.0 }   # kWh -> Wh
    voltage_l1 = { address = 0x0000, type = "float32", function = 4, word_order = "msw" }

``address`` is the 0-based protocol (PDU) address; ``scale`` multiplies the decoded number
into SI units (Wh, W, V, A, Hz). ``energy_import`` is mandatory. Per-quantity ``function``,
``type`` and ``word_order`` override the model defaults.

Adding a model is adding a file: see ``maps/README.md``. ``load_model(name)`` raises
``MapError`` naming the file and the key for anything malformed.
"""

from __future__ import annotations

import math
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Quantity keys a map may define, in the order a reading lists them.
QUANTITIES: tuple[str, ...] = (
    "energy_import",
    "energy_export",
    "power",
    "power_l1",
    "power_l2",
    "power_l3",
    "voltage_l1",
    "voltage_l2",
    "voltage_l3",
    "current_l1",
    "current_l2",
    "current_l3",
    "frequency",
)

#: data type -> (struct format of the big-endian value, registers it spans)
DATA_TYPES: dict[str, tuple[str, int]] = {
    "int16": ("h", 1),
    "uint16": ("H", 1),
    "int32": ("i", 2),
    "uint32": ("I", 2),
    "int64": ("q", 4),
    "uint64": ("Q", 4),
    "float32": ("f", 2),
    "float64": ("d", 4),
}

FUNCTION_CODES = (3, 4)  # read holding registers / read input registers
PARITIES = ("N", "E", "O")
MODBUS_MAX_REGISTERS = 125  # Modbus application protocol v1.1b3, 6.3 / 6.4

# The shipped maps: package data in the maps/ directory beside this module, read as plain files
# (the package is installed as files, never zipped; importlib.resources' reader loads zipfile).
MAPS_DIR = Path(__file__).with_name("maps")


class MapError(ValueError):
    """A register map file is missing or malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Field:
    """Where one quantity lives and how to turn its registers into an SI number."""

    quantity: str
    function: int
    address: int
    type: str
    word_order: str  # "msw" | "lsw"
    scale: float = 1.0

    @property
    def count(self) -> int:
        """Registers the value spans."""
        return DATA_TYPES[self.type][1]

    @property
    def end(self) -> int:
        """First address after the value."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class MeterModel:
    """One register map with its bus facts."""

    name: str
    description: str
    fields: tuple[Field, ...]
    max_registers: int
    turnaround_s: float
    baudrate: int
    parity: str
    stopbits: int
    not_available: dict[str, int]  # data type -> raw unsigned value meaning "no value"
    source: str = ""  # file it was loaded from

    def field(self, quantity: str) -> Field | None:
        """The field of ``quantity``, or None when this meter does not know it."""
        for f in self.fields:
            if f.quantity == quantity:
                return f
        return None


# -- encoding ---------------------------------------------------------------------------------


def _raw_words(field: Field, registers: list[int]) -> list[int]:
    """The registers of ``field`` in most-significant-first order."""
    words = list(registers)
    return words[::-1] if field.word_order == "lsw" else words


def raw_value(field: Field, registers: list[int]) -> int:
    """The registers of ``field`` as one unsigned integer (for the not-available check)."""
    value = 0
    for word in _raw_words(field, registers):
        value = (value << 16) | (word & 0xFFFF)
    return value


def decode(field: Field, registers: list[int]) -> float:
    """Decode ``field``'s registers (exactly ``field.count`` of them) into an SI number.

    NaN and infinities of float types come back as they are; the caller rejects them.
    """
    if len(registers) != field.count:
        raise ValueError(f"{field.quantity}: {len(registers)} registers, need {field.count}")
    fmt = DATA_TYPES[field.type][0]
    data = b"".join(w.to_bytes(2, "big") for w in _raw_words(field, registers))
    (value,) = struct.unpack(">" + fmt, data)
    return float(value) * field.scale


def encode(field: Field, value: float) -> list[int]:
    """The registers a meter shows for ``value`` (SI units): the inverse of ``decode``.

    Integer types round to the nearest step and raise ``ValueError`` when out of range.
    """
    fmt = DATA_TYPES[field.type][0]
    raw: float | int = value / field.scale
    if fmt not in ("f", "d"):
        raw = round(raw)
    try:
        data = struct.pack(">" + fmt, raw)
    except struct.error as exc:
        raise ValueError(f"{field.quantity}: {value} does not fit {field.type}") from exc
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words[::-1] if field.word_order == "lsw" else words


def is_not_available(model: MeterModel, field: Field, registers: list[int]) -> bool:
    """True when the registers hold the model's "not available" sentinel for the field's type."""
    sentinel = model.not_available.get(field.type)
    return sentinel is not None and raw_value(field, registers) == sentinel


# -- loading ----------------------------------------------------------------------------------


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise MapError(f"{where}: missing key {key!r}")
    value = table[key]
    # bool is an int subclass; a map never means a bool where a number is asked for
    if isinstance(value, bool) or not isinstance(value, kind):
        raise MapError(f"{where}: key {key!r} has a wrong type ({value!r})")
    return value


def _field(name: str, spec: Any, defaults: dict[str, Any], where: str) -> Field:
    where = f"{where}: [quantities] {name}"
    if name not in QUANTITIES:
        raise MapError(f"{where}: unknown quantity (known: {', '.join(QUANTITIES)})")
    if not isinstance(spec, dict):
        raise MapError(f"{where}: must be a table like {{ address = 0x0000 }}")
    unknown = set(spec) - {"address", "function", "type", "word_order", "scale"}
    if unknown:
        raise MapError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    merged = {**defaults, **spec}
    address = _get(merged, "address", int, where)
    function = _get(merged, "function", int, where)
    dtype = _get(merged, "type", str, where)
    order = _get(merged, "word_order", str, where)
    scale = float(_get(merged, "scale", (int, float), where)) if "scale" in merged else 1.0
    if function not in FUNCTION_CODES:
        raise MapError(f"{where}: key 'function' must be 3 or 4, not {function}")
    if dtype not in DATA_TYPES:
        raise MapError(f"{where}: key 'type' must be one of {', '.join(DATA_TYPES)}")
    if order not in ("msw", "lsw"):
        raise MapError(f"{where}: key 'word_order' must be 'msw' or 'lsw'")
    if not math.isfinite(scale) or scale == 0:
        raise MapError(f"{where}: key 'scale' must be a finite non-zero number")
    field = Field(name, function, address, dtype, order, scale)
    if address < 0 or field.end > 0x10000:
        raise MapError(f"{where}: key 'address' {address} outside 0..65535")
    return field


def _not_available(table: Any, where: str) -> dict[str, int]:
    where = f"{where}: [not_available]"
    if not isinstance(table, dict):
        raise MapError(f'{where}: must be a table of type = "HEX"')
    result: dict[str, int] = {}
    for dtype, text in table.items():
        if dtype not in DATA_TYPES:
            raise MapError(f"{where}: unknown type {dtype!r}")
        digits = DATA_TYPES[dtype][1] * 4
        if not isinstance(text, str) or len(text) != digits:
            raise MapError(f"{where}: key {dtype!r} must be {digits} hex digits as a string")
        try:
            result[dtype] = int(text, 16)
        except ValueError as exc:
            raise MapError(f"{where}: key {dtype!r} is not hex ({text!r})") from exc
    return result


def parse_map(name: str, text: str, source: str = "") -> MeterModel:
    """Build a ``MeterModel`` from a map file's text. ``source`` names it in errors."""
    where = source or f"{name}.toml"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MapError(f"{where}: not valid TOML: {exc}") from exc
    model = doc.get("model")
    if not isinstance(model, dict):
        raise MapError(f"{where}: missing table [model]")
    unknown = set(doc) - {"model", "quantities", "not_available"}
    if unknown:
        raise MapError(f"{where}: unknown table [{sorted(unknown)[0]}]")
    mwhere = f"{where}: [model]"
    known_model_keys = {
        "description", "function", "type", "word_order", "max_registers",
        "turnaround_s", "baudrate", "parity", "stopbits",
    }  # fmt: skip
    extra = set(model) - known_model_keys
    if extra:
        raise MapError(f"{mwhere}: unknown key {sorted(extra)[0]!r}")
    description = _get(model, "description", str, mwhere)
    max_registers = _get(model, "max_registers", int, mwhere)
    turnaround = float(_get(model, "turnaround_s", (int, float), mwhere))
    baudrate = _get(model, "baudrate", int, mwhere)
    parity = _get(model, "parity", str, mwhere)
    stopbits = _get(model, "stopbits", int, mwhere)
    if not 1 <= max_registers <= MODBUS_MAX_REGISTERS:
        raise MapError(f"{mwhere}: key 'max_registers' must be 1..{MODBUS_MAX_REGISTERS}")
    if not (math.isfinite(turnaround) and turnaround >= 0):
        raise MapError(f"{mwhere}: key 'turnaround_s' must be >= 0")
    if baudrate <= 0:
        raise MapError(f"{mwhere}: key 'baudrate' must be positive")
    if parity not in PARITIES:
        raise MapError(f"{mwhere}: key 'parity' must be N, E or O")
    if stopbits not in (1, 2):
        raise MapError(f"{mwhere}: key 'stopbits' must be 1 or 2")
    defaults = {k: model[k] for k in ("function", "type", "word_order") if k in model}
    defaults.setdefault("word_order", "msw")
    quantities = doc.get("quantities")
    if not isinstance(quantities, dict) or not quantities:
        raise MapError(f"{where}: missing table [quantities]")
    fields = tuple(_field(q, spec, defaults, where) for q, spec in quantities.items())
    if "energy_import" not in quantities:
        raise MapError(f"{where}: [quantities] missing key 'energy_import'")
    for f in fields:
        if f.count > max_registers:
            raise MapError(f"{where}: [quantities] {f.quantity}: wider than max_registers")
    fields = tuple(sorted(fields, key=lambda f: QUANTITIES.index(f.quantity)))
    na = _not_available(doc["not_available"], where) if "not_available" in doc else {}
    return MeterModel(
        name, description, fields, max_registers, turnaround, baudrate, parity, stopbits, na,
        source=where,
    )  # fmt: skip


def load_map(path: str | Path) -> MeterModel:
    """Load a map file from anywhere (the model is named after the file's stem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise MapError(f"{p}: cannot read: {exc.strerror}") from exc
    return parse_map(p.stem, text, str(p))


def _shipped() -> dict[str, Path]:
    return {entry.stem: entry for entry in MAPS_DIR.glob("*.toml")}


def load_model(name: str) -> MeterModel:
    """Load a shipped model by name (``"sdm630"``); ``MapError`` for an unknown name."""
    files = _shipped()
    if name not in files:
        raise MapError(f"unknown meter model {name!r} (known: {', '.join(sorted(files))})")
    entry = files[name]
    return parse_map(name, entry.read_text(encoding="utf-8"), f"maps/{name}.toml")


def list_models() -> dict[str, str]:
    """Every shipped model name with its one-line description, sorted by name."""
    return {name: load_model(name).description for name in sorted(_shipped())}
