"""ui.export is made of pure functions: neither it nor the ui modules it imports may import Streamlit (checked on the
source, following `ui` imports: a fresh interpreter would take many seconds to import torch and plotly)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """The absolute names of the modules that `path` (a module of the repository) imports."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1] if path.name != "__init__.py"
                       else path.relative_to(REPO).parent.parts)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _source(module: str) -> Path | None:
    path = REPO.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_export_does_not_import_streamlit() -> None:
    seen: set[Path] = set()
    todo = [path for path in (REPO / "ui" / "export").glob("*.py")]
    imported: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        names = _imports(path)
        imported |= names
        todo += [source for name in names if name.split(".")[0] == "ui" and (source := _source(name))]
    assert REPO / "ui" / "outcome.py" in seen and REPO / "ui" / "figures.py" in seen  # the walk follows ui imports
    assert not [name for name in imported if name.split(".")[0] == "streamlit"]
