"""Local load management at the grid connection (``[site]``, docs/site.md): the grid meter
poller (``grid_meter``) and the manager that turns its readings into per-connector offers
through the shared schedule module (``manager``)."""

from chargepoint.site.grid_meter import GridMeter, open_grid_meter
from chargepoint.site.manager import SiteManager

__all__ = ["GridMeter", "SiteManager", "open_grid_meter"]
