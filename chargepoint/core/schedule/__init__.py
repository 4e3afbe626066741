"""Smart charging, version-neutral: charging profiles (``profile``), one profile on the time
line (``evaluate``) and the composite limit of a connector (``composite``). Pure: no I/O, no
clock; every instant is passed in as a timezone-aware datetime. See docs/smart-charging.md.
"""

from .composite import (
    Bound,
    Circuit,
    CompositePeriod,
    CompositeSchedule,
    Limit,
    Schedule,
    Transaction,
    offer,
)
from .enforce import Enforcement, enforce
from .profile import (
    ChargingProfile,
    ChargingSchedule,
    Kind,
    Purpose,
    RateUnit,
    Recurrency,
    SchedulePeriod,
)

__all__ = [
    "Bound",
    "ChargingProfile",
    "ChargingSchedule",
    "Circuit",
    "CompositePeriod",
    "CompositeSchedule",
    "Enforcement",
    "Kind",
    "Limit",
    "Purpose",
    "RateUnit",
    "Recurrency",
    "Schedule",
    "SchedulePeriod",
    "Transaction",
    "enforce",
    "offer",
]
