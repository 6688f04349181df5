"""`alma-explorer [--models FILE[:FUNCTION]] [--port N] [-- streamlit options]`: starts the explorer.

The explorer's pages come with the package (`alma/_app/` in the wheel, the repository root in a source checkout),
with their Streamlit settings (`.streamlit/config.toml`, given as command-line options, so they apply from any
working directory). `--models` adds model plugins to `ALMA_MODELS` (see `alma.models.plugins`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..models.plugins import ENV_VAR, split_spec

PACKAGE = Path(__file__).resolve().parents[1]


def app_dir() -> Path:
    """The folder of the explorer's `app.py`: bundled in the wheel, else the source checkout."""
    for folder in (PACKAGE / "_app", PACKAGE.parent):
        if (folder / "app.py").is_file() and (folder / "ui").is_dir():
            return folder
    raise SystemExit("alma-explorer: the explorer's pages are not installed with this package (no alma/_app); "
                     "reinstall it from the wheel, or run `streamlit run app.py` in a source checkout.")


def config_options(config: Path) -> list[str]:
    """The settings of a Streamlit config file as command-line options (`--server.port=8501`)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: Streamlit's defaults apply
        return []
    if not config.is_file():
        return []
    options = []
    for section, values in tomllib.loads(config.read_text()).items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            options.append(f"--{section}.{key}={text}")
    return options


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alma-explorer", description="Start the ALMA Explorer (a Streamlit app) in the browser.",
        epilog="Options after `--` go to `streamlit run` (e.g. -- --server.address 0.0.0.0).")
    parser.add_argument("--models", action="append", default=[], metavar="FILE[:FUNCTION]",
                        help="a Python file that registers models with alma.models.register (then calls FUNCTION, "
                             f"if given); may be repeated; added to ${ENV_VAR}")
    parser.add_argument("--port", type=int, default=8501, help="the port to serve on (default 8501)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    split = argv.index("--") if "--" in argv else len(argv)
    args, streamlit_options = parser().parse_args(argv[:split]), argv[split + 1:]
    plugins = []
    for spec in args.models:
        path, function = split_spec(spec)
        if not path.is_file():
            parser().error(f"--models: no such file: {path}")
        plugins.append(str(path.resolve()) + (f":{function}" if function else ""))
    if plugins:
        os.environ[ENV_VAR] = ",".join(filter(None, [os.environ.get(ENV_VAR, ""), *plugins]))
    folder = app_dir()
    from streamlit.web import cli as streamlit_cli

    sys.argv = ["streamlit", "run", str(folder / "app.py"), *config_options(folder / ".streamlit" / "config.toml"),
                f"--server.port={args.port}", *streamlit_options]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
