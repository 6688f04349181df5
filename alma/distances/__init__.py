"""Distances ALMA can minimise, by name: see `available()`; `measure` computes them all for a results table."""
# Import order is registration order, which is the order `available()` lists (and the app shows) the distances.
from . import lp, ssim, ciede2000, lpips, adv_lib_variants  # noqa: F401, I001  (each registers its distances)
from .measure import measure
from .registry import Distance, DistanceFn, available, get, register

__all__ = ["Distance", "DistanceFn", "available", "get", "measure", "register"]
