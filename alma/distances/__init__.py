"""Distances ALMA can minimise, by name: see `available()`."""
from .registry import Distance, DistanceFn, available, get, register
from . import lp  # noqa: F401  (registers l1, l2)

__all__ = ["Distance", "DistanceFn", "available", "get", "register"]
