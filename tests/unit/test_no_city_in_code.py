"""Issue 12: the bureau's identity is data (data/bureaus/<BUREAU>.json). A literal of Chizhou in
the code's strings or in the pages would show on a second city's install: this fails on one.
Comments and docstrings may name Chizhou as an example."""
from __future__ import annotations

import ast
import re
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
CITY = re.compile(r"池州|池人社|CZBA|341700")


def _strings(path: Path):
    if path.suffix != ".py":
        yield from enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def offending(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".html", ".js") or "migrations" in path.parts:  # migrations are history
            continue
        found += [f"{path.relative_to(root)}:{n}: {text.strip()[:80]}"
                  for n, text in _strings(path) if CITY.search(text)]
    return found


def test_no_literal_of_the_city_in_code_or_pages():
    assert offending(SERVICE) == []


def test_the_guard_sees_a_literal_in_code_and_in_a_page_but_not_in_a_comment(tmp_path):
    (tmp_path / "a.py").write_text('"""池州 as an example."""\nPREFIX = "CZBA"  # 池州\n', encoding="utf-8")
    (tmp_path / "b.html").write_text("<h1>池州市技能人才评价机构管理系统</h1>\n", encoding="utf-8")
    assert offending(tmp_path) == ["a.py:2: CZBA", "b.html:1: <h1>池州市技能人才评价机构管理系统</h1>"]
