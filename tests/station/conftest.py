"""Full-stack station tests use the shared support in ``tests/fullstack.py``."""

from tests.fullstack import make_cp

__all__ = ["make_cp"]
