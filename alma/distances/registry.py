"""The registry of distances that `alma.attack(distance=...)` accepts."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

DistanceFn = Callable[[Tensor], Tensor]
"""D(·, x) for fixed references x: maps a batch x̃ [B, C, H, W] to per-sample distances [B]."""


@dataclass(frozen=True)
class Distance:
    """A distance D(x̃, x) that ALMA can minimise.

    build(x) returns D(·, x) for the reference batch x; building once lets a distance precompute what depends on
    x alone (e.g. its Lab image or its deep features). default_eps gives the paper's ε (`init_lr_distance`): the
    increase of D after the first step, about a tenth of typical final distances; a float, or a function of x.
    pixel_map(x, x̃) returns a per-pixel map [B, H, W] for display.
    """

    name: str
    label: str
    build: Callable[[Tensor], DistanceFn]
    default_eps: float | Callable[[Tensor], float]
    pixel_map: Callable[[Tensor, Tensor], Tensor] | None = None
    description: str = ""

    def eps_for(self, inputs: Tensor) -> float:
        """The default ε for these inputs."""
        return self.default_eps(inputs) if callable(self.default_eps) else float(self.default_eps)


_REGISTRY: dict[str, Distance] = {}


def register(distance: Distance) -> Distance:
    """Add a distance under its name (replacing any previous one of that name)."""
    _REGISTRY[distance.name] = distance
    return distance


def get(distance: str | Distance) -> Distance:
    """The registered distance of that name (a `Distance` is returned as is)."""
    if isinstance(distance, Distance):
        return distance
    try:
        return _REGISTRY[distance]
    except KeyError:
        raise ValueError(f"unknown distance {distance!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    """Names of the registered distances, in registration order."""
    return list(_REGISTRY)
