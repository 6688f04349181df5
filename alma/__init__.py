"""ALMA: Augmented Lagrangian adversarial attacks (Rony et al., ICCV 2021), fast and instrumented.

`attack(model, inputs, labels, ...)` runs the attack and returns an `AttackResult` with a per-step `Trace`;
`alma(model, inputs, labels, ...)` is a drop-in for the reference implementation's call.
"""
from . import distances, penalties
from .attack import AttackResult, attack
from .dropin import alma
from .trace import Trace

__all__ = ["AttackResult", "Trace", "alma", "attack", "distances", "penalties"]
