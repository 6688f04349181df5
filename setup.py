"""Packaging hook: the wheel also carries the explorer (app.py, pages/, ui/ and the Streamlit config) as
`alma/_app/`, so that `pip install` of the wheel is enough for `alma-explorer` (see alma/cli/explorer.py).
Everything else is in pyproject.toml."""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
APP_FILES = ("app.py", ".streamlit/config.toml", "pages/*.py", "ui/**/*")


class BuildPyWithApp(build_py):
    """build_py, then the explorer's files copied into `alma/_app/` of the build."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "alma" / "_app"
        for pattern in APP_FILES:
            for source in sorted(ROOT.glob(pattern)):
                if not source.is_file() or "__pycache__" in source.parts:
                    continue
                destination = target / source.relative_to(ROOT)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildPyWithApp})
