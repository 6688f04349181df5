"""The short classroom soak: `bench/soak.py` with 2 sessions for 30 s against the real app, in headless Chromium."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHARED_DATA = REPO.parent / "shared" / "data"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_two_sessions_for_thirty_seconds_fail_nothing(tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (make chromium)")
    pytest.importorskip("playwright.sync_api")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if "ALMA_WEIGHTS_DIR" not in env and (SHARED_DATA / "MANIFEST.md").is_file():
        env["ALMA_WEIGHTS_DIR"] = str(SHARED_DATA)
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "bench/soak.py", "--sessions", "2", "--minutes", "0.5", "--max-steps",
                           "100", "--json", str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=400)
    assert out.is_file(), done.stdout + done.stderr
    figures = json.loads(out.read_text())
    problems = [text for log in figures["logs"] for text in log["failed"] + log["page_errors"]]
    assert problems == [] and figures["server_errors"] == [], done.stdout
    for log in figures["logs"]:
        assert log["finished"] == log["started"] >= 2, log  # the warm-up run and at least one timed run
        assert log["first_line_s"], log
    memory = figures["memory_mb"]
    assert memory["end"][0] > 0 and memory["end"][1] > 0  # the server and its workers were measured
