"""The helper package stays small enough to read: a budget for the whole and for each part."""

from __future__ import annotations

import ast
from pathlib import Path

import gan_helpers

PACKAGE = Path(gan_helpers.__file__).parent
MAX_TOTAL_LINES = 2_000
MAX_FUNCTION_LINES = 60  # first line (decorators included) to last, docstring included
MAX_CLASS_LINES = 200


def sizes() -> list[tuple[str, str, int]]:
    """(kind, "module.py:name", lines) for every function, method and class in the package."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                found.append((kind, f"{path.name}:{node.name}", node.end_lineno - first + 1))
    return found


def test_the_package_has_at_most_2000_lines() -> None:
    lines = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert sum(lines.values()) <= MAX_TOTAL_LINES, sorted(lines.items(), key=lambda kv: -kv[1])


def test_no_function_over_60_lines_and_no_class_over_200() -> None:
    limits = {"function": MAX_FUNCTION_LINES, "class": MAX_CLASS_LINES}
    too_long = [(where, n) for kind, where, n in sizes() if n > limits[kind]]
    assert not too_long, f"over {limits}: {too_long}"
