"""Numbers readable in a narrow column, user text made inert in markdown, safe download names."""
from __future__ import annotations

import math
import re

import pytest

from ui.text import markdown_text, readable, safe_file_name

HOSTILE = ["<img src=x onerror=alert(1)>", "**bold** _it_ [link](javascript:alert(1)) ![x](http://evil/x.png)",
           "# heading\n- item\n1. one", "$x^2$ `code` ~~strike~~ | table |", ":red[colour] :material/home:",
           "back\\slash &amp; <script>alert('x')</script>"]


def _unescape(text: str) -> str:
    """What CommonMark shows for backslash-escaped ASCII punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


@pytest.mark.parametrize("value", [4.99e-5, 1.234567e-4, 0.0123456, 0.999, 1.5, 42.123, 999.95, 12345.6, 1.2e7,
                                   -3.3e-9, 0.001, 99999.4, 100000.0, 7e-300, 1.7e308])
def test_readable_numbers_are_short_and_faithful(value: float) -> None:
    text = readable(value)
    assert len(text) <= 9, text
    parsed = float(text.replace("−", "-").replace("×10", "e").translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    assert math.isclose(parsed, value, rel_tol=5e-3), (value, text)


def test_readable_special_values() -> None:
    assert (readable(0.0), readable(math.inf), readable(-math.inf), readable(math.nan)) == ("0", "∞", "−∞", "—")


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_leaves_nothing_for_markdown_or_html_to_act_on(text: str) -> None:
    escaped = markdown_text(text)
    assert _unescape(escaped) == " ".join(text.split())  # the same words, on one line
    unescaped_specials = re.findall(r"(?<!\\)[<>*_\[\]()`#$|~:!&]", re.sub(r"\\\\", "", escaped))
    assert unescaped_specials == [], escaped


@pytest.mark.parametrize("stem", ["alma_../../etc/passwd", "<img src=x onerror=alert(1)>", "..hidden", "con:aux*?",
                                  "модель résumé", "a" * 500, "", "name\n\r\t\x00"])
def test_safe_file_names(stem: str) -> None:
    name = safe_file_name(stem, "png")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.png", name), name


def test_safe_file_names_keep_plain_names() -> None:
    assert safe_file_name("alma_mnist-smallcnn_l2_trace", "csv") == "alma_mnist-smallcnn_l2_trace.csv"
    assert safe_file_name("résumé", ".json") == "resume.json"
