"""Synthetic pose data sets with ground truth."""

from ._mouse import make_mouse_behavior

__all__ = ["make_mouse_behavior"]
