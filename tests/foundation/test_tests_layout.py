"""The tests follow the house: makers come from ``tests/factories.py`` (or a conftest's
fixtures), and no test module imports another test module or a conftest that is not its own
folder's or an ancestor's."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
    return out


def test_no_test_module_imports_another() -> None:
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        here = path.parent.relative_to(TESTS.parent).as_posix().replace("/", ".")
        for module in _imported(path):
            if not module.startswith("tests."):
                continue
            last = module.rsplit(".", 1)[-1]
            folder = module.rsplit(".", 1)[0]
            # a conftest applies to its folder and below: importing an ancestor's is fine
            foreign = not (here == folder or here.startswith(folder + "."))
            if last.startswith("test_") or (last == "conftest" and foreign):
                wrong.append(f"{path.relative_to(TESTS)} imports {module}")
    assert not wrong, "take shared makers from tests/factories.py: " + "; ".join(wrong)
