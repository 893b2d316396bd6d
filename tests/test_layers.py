"""The package map in the README, enforced: every import of one paperfeed package by another
points down the layers, never up or sideways. Lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "paperfeed"

# Bottom first. A package may import only packages in layers below its own.
LAYERS = [
    {"config", "links"},
    {"records", "models", "db", "mail"},
    {"migrations", "metrics", "backup"},
    {"store"},
    {"accounts"},
    {"index"},
    {"rank"},
    {"ingest", "digest", "notify"},
    {"jobs"},
    {"web"},
    {"cli"},
    {"__main__"},
]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}


def package_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n.split(".")[1] for n in names if n.startswith("paperfeed."))
    return found


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        here = package_of(path)
        if here == "__init__":
            continue
        for there in imported_packages(path) - {here}:
            if LEVEL[there] >= LEVEL[here]:
                bad.append(f"{path.relative_to(SRC)} imports paperfeed.{there}")
    return bad


def test_every_package_has_a_layer():
    packages = {package_of(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert packages <= LEVEL.keys(), f"add {sorted(packages - LEVEL.keys())} to LAYERS and the README map"


def test_imports_only_point_down():
    assert upward_imports() == []


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "paperfeed"
    (fake / "store").mkdir(parents=True)
    (fake / "store" / "bad.py").write_text("def f():\n    from paperfeed.web.app import create_app\n")
    monkeypatch.setitem(globals(), "SRC", fake)
    assert upward_imports() == ["store/bad.py imports paperfeed.web"]
