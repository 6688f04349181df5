"""The built wheel is enough to run the explorer: a fresh virtual environment that installs it (and nothing of this
checkout) runs `alma-explorer --help` and serves the app's health endpoint."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("alma", "app.py", "pages", "ui", ".streamlit", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
HEALTH_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env() -> dict[str, str]:
    """The environment without anything pointing at this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.mark.slow
def test_fresh_venv_runs_the_wheel(tmp_path: Path) -> None:
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, source / name, **({"ignore": ignore}
                                                                                     if path.is_dir() else {}))
    # what `pip wheel --no-build-isolation` does, without pip's overhead: the PEP 517 backend, in the copy
    subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; "
                    f"build_meta.build_wheel({str(tmp_path / 'dist')!r})"], check=True, env=_clean_env(), cwd=source,
                   capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("alma-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("alma/_app/app.py", "alma/_app/pages/1_EMA_on_off.py", "alma/_app/ui/live_chart.js",
                     "alma/_app/ui/vendor/uplot/uPlot.iife.min.js", "alma/_app/ui/vendor/uplot/uPlot.min.css",
                     "alma/_app/ui/model_upload/panel.py", "alma/_app/.streamlit/config.toml",
                     "alma/models/weights/mnist_smallcnn.pt", "alma/cli/explorer.py"):
        assert expected in names, expected

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # the third-party packages of the test environment (torch...), found after the venv's own site-packages
    Path(purelib, "shared_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, env=_clean_env())
    command = venv / "bin" / "alma-explorer"
    where = subprocess.run([python, "-c", "import alma; print(alma.__file__)"], check=True, capture_output=True,
                           text=True, env=_clean_env(), cwd=tmp_path).stdout.strip()
    assert where.startswith(purelib), where  # the wheel's package, not this checkout's

    shown = subprocess.run([command, "--help"], check=True, capture_output=True, text=True, env=_clean_env(),
                           cwd=tmp_path).stdout
    assert "usage: alma-explorer" in shown and "--models" in shown and "--port" in shown

    port = _free_port()
    server = subprocess.Popen([command, "--port", str(port), "--", "--server.headless=true"], env=_clean_env(),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + HEALTH_TIMEOUT_S, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert body == "ok", f"no health answer; server said: {server.stdout.read() if server.poll() else ''}"
    finally:
        server.terminate()
        server.wait(10)
