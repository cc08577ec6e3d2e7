"""The one-way layers of docs/ARCHITECTURE.md, checked on the source: every import of every
module under index/, assistant/, evals/ and ui/ (inside functions and `TYPE_CHECKING` blocks
too) is read with `ast`, and a layer may import only itself and the layers it sits on:

    index      -> nothing above it
    assistant  -> index
    evals      -> assistant, index
    ui         -> evals, assistant, index (the top)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from conftest import ROOT

ALLOWED = {
    "index": {"index"},
    "assistant": {"assistant", "index"},
    "evals": {"evals", "assistant", "index"},
    "ui": {"ui", "evals", "assistant", "index"},
}
LAYERS = tuple(ALLOWED)


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(ROOT).parts[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside its own package
                found.append((node.lineno, package))
            elif node.module:
                found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(layer: str) -> list[str]:
    out = []
    for path in modules(layer):
        for line, target in imported(path):
            if target in LAYERS and target not in ALLOWED[layer]:
                out.append(f"{path.relative_to(ROOT)}:{line}: {layer} imports {target} "
                           f"(a layer above it; {layer} may import only "
                           f"{', '.join(sorted(ALLOWED[layer]))})")
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer):
    assert modules(layer), f"no modules under {layer}/"
    problems = violations(layer)
    assert not problems, "\n".join(problems)


def test_the_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    """The checker itself: an upward import hidden in a function body is found."""
    fake_root = tmp_path
    (fake_root / "index").mkdir()
    (fake_root / "index" / "bad.py").write_text(
        "def f():\n    from ui.cli import app\n    import evals.runner\n    return app\n",
        encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    found = violations("index")
    assert len(found) == 2
    assert found[0].startswith("index/bad.py:2: index imports ui")
    assert found[1].startswith("index/bad.py:3: index imports evals")
