"""Full-stack OCTT-style scenarios, driven from the CSMS side like the OCTT (helpers and
fixtures in ``tests/fullstack.py``)."""

from tests.fullstack import make_cp

__all__ = ["make_cp"]
