"""`alma(model, inputs, labels, **kw)`: a drop-in for the reference implementation's call."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from .attack import attack
from .penalties import PENALTIES

_RENAMED = {"μ_init": "mu_init", "ρ_init": "rho_init", "τ": "tau", "γ": "gamma", "α": "alpha", "α_rms": "alpha_rms"}


def alma(model: nn.Module, inputs: Tensor, labels: Tensor, penalty: str | Callable = "P2",
         targeted: bool = False, num_steps: int = 1000, **kwargs: Any) -> Tensor:
    """The adversarial inputs of ALMA, called like the reference implementation (`adv_lib.attacks.alma`).

    Accepts its argument names (`μ_init`, `ρ_init`, `τ`, `γ`, `α`, `α_rms`, as well as the ASCII names of `attack`)
    and its defaults: α = 0.9 whatever the number of steps, and a constant initial learning rate `lr_init` unless
    `init_lr_distance` is given. A penalty may be given by name or as one of the reference's functions (matched by
    name). Visualisation callbacks are not supported: use `attack(..., on_step=...)`.
    """
    if kwargs.pop("callback", None) is not None:
        raise TypeError("callback is not supported; use alma.attack(..., on_step=...) to follow the attack")
    settings = {_RENAMED.get(key, key): value for key, value in kwargs.items()}
    settings.setdefault("alpha", 0.9)
    settings["lr_search"] = settings.get("init_lr_distance") is not None
    name = penalty if isinstance(penalty, str) else getattr(penalty, "__name__", None)
    if name not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; available: {', '.join(PENALTIES)}")
    return attack(model, inputs, labels, penalty=name, targeted=targeted, num_steps=num_steps, record=False,
                  **settings).adv_inputs
