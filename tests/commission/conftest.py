"""Commissioning tests run the full stack on the simulated bench (``tests/fullstack.py``)."""

from tests.fullstack import make_cp

__all__ = ["make_cp"]
