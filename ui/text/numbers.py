"""Numbers that stay readable in a narrow column: at most about eight characters, scientific notation where needed."""
from __future__ import annotations

import math

SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
PLAIN_RANGE = (1e-3, 1e5)
"""Magnitudes written as plain decimals; smaller and larger ones as m×10ⁿ."""


def readable(value: float, digits: int = 3) -> str:
    """`value` with `digits` significant digits (whole numbers below 10⁵ in full): 0.0123, 42.1, 12346, 1.23×10⁻⁵,
    4.56×10⁶; ∞ and — (NaN) as symbols."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    if PLAIN_RANGE[0] <= abs(value) < PLAIN_RANGE[1]:
        plain = f"{value:.{digits}g}"
        plain = f"{value:.0f}" if "e" in plain else plain
        return plain.replace("-", "−")
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa.replace('-', '−')}×10{str(int(exponent)).translate(SUPERSCRIPTS)}"
