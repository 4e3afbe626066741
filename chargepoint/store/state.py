"""Small durable state: meter, configuration, availability, reservations, charging profiles,
latched faults and key/value (the corresponding ``StoreAPI`` methods)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chargepoint.store.api import ReservationRecord
from chargepoint.store.auth import AuthTables
from chargepoint.store.codec import dump_payload, finite, load_payload


class StateTables(AuthTables):
    """Every change is one durable commit; reads see the last commit."""

    # -- meter -------------------------------------------------------------------------------

    def save_meter_reading(self, connector: int, energy_wh: float, at: str) -> None:
        """Persist the connector's energy register (for PowerLoss stops). One fsync per call."""
        self.save_meter_readings([(connector, energy_wh, at)])

    def save_meter_readings(self, readings: Sequence[tuple[int, float, str]]) -> None:
        """``save_meter_reading`` of several connectors (connector, energy_wh, at) in one
        commit: one fsync for all."""
        rows = [(connector, finite(wh, "energy_wh"), at) for connector, wh, at in readings]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO meter_last (connector, energy_wh, at) VALUES (?, ?, ?)"
                " ON CONFLICT (connector) DO UPDATE SET energy_wh = excluded.energy_wh,"
                " at = excluded.at",
                rows,
            )

    def last_meter_reading(self, connector: int) -> tuple[float, str] | None:
        """(energy_wh, at) last saved for ``connector``, or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT energy_wh, at FROM meter_last WHERE connector = ?", (connector,)
            ).fetchone()
        return None if row is None else (float(row[0]), str(row[1]))

    # -- configuration -----------------------------------------------------------------------

    def config_get(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM config WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def config_set(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO config (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def config_all(self) -> dict[str, str]:
        with self._read() as conn:
            rows = conn.execute("SELECT key, value FROM config ORDER BY key").fetchall()
        return {str(k): str(v) for k, v in rows}

    # -- availability ------------------------------------------------------------------------

    _available: dict[int, bool] | None = None  # mirror of the table once read

    def set_availability(self, connector: int, operative: bool) -> None:
        """Persist ChangeAvailability for ``connector`` (0 = the whole station)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO availability (connector, operative) VALUES (?, ?)"
                " ON CONFLICT (connector) DO UPDATE SET operative = excluded.operative",
                (connector, int(operative)),
            )
            mirror = self._available

            def apply() -> None:
                if mirror is not None:
                    mirror[connector] = operative
            self._after_commit(apply)

    def availability(self) -> dict[int, bool]:
        """Connectors ever set; a connector absent from the dict is operative. From memory
        after the first call (``Store.open`` makes it): never waits on the lock then."""
        mirror = self._available
        if mirror is not None:
            return dict(mirror)
        with self._read() as conn:
            rows = conn.execute("SELECT connector, operative FROM availability").fetchall()
            self._available = {int(c): bool(o) for c, o in rows}
            return dict(self._available)

    # -- reservations ------------------------------------------------------------------------

    def reservation_put(self, record: ReservationRecord) -> None:
        """Add or replace (same reservation id, OCPP 1.6 5.13) a reservation."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO reservations"
                " (reservation_id, connector, id_tag, parent_id_tag, expiry)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    record.reservation_id,
                    record.connector,
                    record.id_tag,
                    record.parent_id_tag,
                    record.expiry,
                ),
            )

    def reservation_remove(self, reservation_id: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM reservations WHERE reservation_id = ?", (reservation_id,))

    def reservations(self) -> list[ReservationRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT reservation_id, connector, id_tag, parent_id_tag, expiry"
                " FROM reservations ORDER BY reservation_id"
            ).fetchall()
        return [ReservationRecord(int(r), int(c), str(t), p, str(e)) for r, c, t, p, e in rows]

    # -- charging profiles -------------------------------------------------------------------

    def profile_put(
        self, profile_id: int, connector: int, stack_level: int, purpose: str,
        profile: dict[str, Any], *, same_level_replaces: bool = True,
    ) -> None:
        """Install a profile. Per OCPP 1.6 5.16.2 it replaces any profile with the same id
        and any on the same connector with the same stack level and purpose; with
        ``same_level_replaces`` False only the one with the same id (2.0.1 K01.FR.05: there
        the station refuses a conflicting profile instead)."""
        data = dump_payload(profile)
        with self._write() as conn:
            conn.execute(
                "DELETE FROM charging_profiles WHERE profile_id = ? OR"
                " (? AND connector = ? AND stack_level = ? AND purpose = ?)",
                (profile_id, same_level_replaces, connector, stack_level, purpose),
            )
            conn.execute(
                "INSERT INTO charging_profiles"
                " (profile_id, connector, stack_level, purpose, profile) VALUES (?, ?, ?, ?, ?)",
                (profile_id, connector, stack_level, purpose, data),
            )

    def profile_remove(self, profile_id: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM charging_profiles WHERE profile_id = ?", (profile_id,))

    def profiles(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(profile_id, connector, profile), ordered by connector, stack level, id."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT profile_id, connector, profile FROM charging_profiles"
                " ORDER BY connector, stack_level, profile_id"
            ).fetchall()
        return [(int(i), int(c), load_payload(p)) for i, c, p in rows]

    # -- latched faults ----------------------------------------------------------------------

    def set_latched_fault(self, connector: int, kind: str, active: bool) -> None:
        """Latch (``active``) or clear a fault; both are idempotent."""
        with self._write() as conn:
            if active:
                conn.execute(
                    "INSERT OR IGNORE INTO latched_faults (connector, kind) VALUES (?, ?)",
                    (connector, kind),
                )
            else:
                conn.execute(
                    "DELETE FROM latched_faults WHERE connector = ? AND kind = ?",
                    (connector, kind),
                )

    def latched_faults(self) -> list[tuple[int, str]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT connector, kind FROM latched_faults ORDER BY connector, kind"
            ).fetchall()
        return [(int(c), str(k)) for c, k in rows]

    # -- key/value ---------------------------------------------------------------------------

    def kv_get(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def kv_set(self, key: str, value: str | None) -> None:
        """Set ``key``; ``None`` deletes it."""
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO kv (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
