"""Smart charging, version-neutral: charging profiles (``profile``), one profile on the time
line (``evaluate``), the composite limit of a connector (``composite``) and local load
management's share of the grid connection (``site``; docs/site.md). Pure: no I/O, no
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
from .site import Allocation, Demand, SiteLimits, SiteState, allocate, plausible

__all__ = [
    "Allocation",
    "Bound",
    "ChargingProfile",
    "ChargingSchedule",
    "Circuit",
    "CompositePeriod",
    "CompositeSchedule",
    "Demand",
    "Enforcement",
    "Kind",
    "Limit",
    "Purpose",
    "RateUnit",
    "Recurrency",
    "Schedule",
    "SchedulePeriod",
    "SiteLimits",
    "SiteState",
    "Transaction",
    "allocate",
    "enforce",
    "offer",
    "plausible",
]
