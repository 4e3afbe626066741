"""The ``[charging]`` and ``[site]`` sections: free vend and local load management
(docs/site.md, docs/configuration.md)."""

from __future__ import annotations

from chargepoint.config.fields import Table
from chargepoint.config.hardware import parse_meter
from chargepoint.config.model import ChargingConfig, MeterConfig, SiteConfig


def parse_charging(t: Table | None) -> ChargingConfig:
    if t is None:
        return ChargingConfig()
    cfg = ChargingConfig(
        free_vend=t.boolean("free_vend", False),
        free_vend_id_tag=t.string("free_vend_id_tag", "FREEVEND", max_len=20),  # CiString20
    )
    if not cfg.free_vend_id_tag:
        t.error("free_vend_id_tag", "must not be empty")
    t.finish()
    return cfg


def parse_site(t: Table | None) -> SiteConfig | None:
    if t is None:
        return None
    default = SiteConfig()
    # 6 A is the least any EV can be offered; above 1000 A is not a connection a wallbox
    # controller manages (a typo, e.g. W for A)
    cfg = SiteConfig(
        max_current_a=t.number("max_current_a", default.max_current_a, 6.0, 1000.0),
        fallback_current_a=t.number("fallback_current_a", default.fallback_current_a, 0.0, 80.0),
        rotate_s=t.number("rotate_s", default.rotate_s, 30.0, 86400.0),
        margin_a=t.number("margin_a", default.margin_a, 0.0, 32.0),
        hold_s=t.number("hold_s", default.hold_s, 0.0, 300.0),
        meter=parse_meter(t.table("meter")) or MeterConfig(),
    )
    if 0.0 < cfg.fallback_current_a < 6.0:
        t.error("fallback_current_a", "must be 0 (pause) or at least 6 A")
    if cfg.fallback_current_a > cfg.max_current_a:
        t.error("fallback_current_a", "must not exceed max_current_a")
    t.finish()
    return cfg
