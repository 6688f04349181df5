"""Uploads through the page's file uploader: bad files get a message, never a traceback, and the page goes on."""
from __future__ import annotations

import hashlib

from alma.samples import draw_digit
from ui.images import image_png

from .conftest import explorer, finish, metrics

DIGIT_PNG = image_png(1 - draw_digit(3), enlarge=False)
"""A dark 3 on white paper, as a student would photograph it (the app inverts it for MNIST)."""
BAD = {  # what: (upload, words of the message)
    "truncated PNG": (("broken.png", DIGIT_PNG[:60], "image/png"), "damaged or incomplete"),
    "corrupt bytes": (("noise.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "image/png"), "not an image"),
    "text file": (("notes.png", b"just some text, not an image\n", "text/plain"), "not an image"),
    "zero bytes": (("empty.png", b"", "image/png"), "empty"),
}


def test_bad_uploads_show_an_error_and_the_page_keeps_working() -> None:
    at = explorer(steps=30)
    at.button_group(key="source").set_value("Upload").run()
    assert at.info and not at.error
    for what, (upload, words) in BAD.items():
        at.file_uploader(key="upload").set_value(upload).run()
        assert not at.exception, (what, at.exception)
        assert len(at.error) == 1 and words in at.error[0].value, (what, at.error)
        assert at.button(key="run").disabled, what

    at.file_uploader(key="upload").set_value(("three.png", DIGIT_PNG, "image/png")).run()
    assert not at.error and not at.button(key="run").disabled
    assert at.button_group(key="polarity").options[0] == "auto (invert)"
    finish(at.button(key="run").click().run(), "explorer_run")

    shown = metrics(at)
    assert shown["Original prediction"] == "3" and shown["Adversarial prediction"] != "3", shown
    latest = at.session_state["history"].latest()
    assert latest.config.input.sha256 == hashlib.sha256(DIGIT_PNG).hexdigest()
    assert latest.clean.shape == (1, 28, 28)
