"""Checks that cannot fail prove nothing (issue 12, "Also"): no assertion in the suite compares an
expression with something built from that same expression, like `x == (y and x)`."""

import ast
from pathlib import Path

PARTS = (ast.Attribute, ast.Subscript, ast.Call)


def self_comparisons(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, (ast.Eq, ast.Is, ast.In)) for op in node.ops):
            continue
        left = {ast.dump(node.left)} | {ast.dump(n) for n in ast.walk(node.left) if isinstance(n, PARTS)}
        if any(ast.dump(n) in left for comparator in node.comparators for n in ast.walk(comparator)
               if isinstance(n, (*PARTS, ast.Name))):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_detector_sees_the_pattern_it_looks_for():
    assert self_comparisons("assert (a.x, b.y) == ('C', z and b.y)") == ["line 1: (a.x, b.y) == ('C', z and b.y)"]
    assert self_comparisons("assert a.x == b.x and c == d") == []


def test_no_assertion_compares_a_value_with_itself():
    found = {path.name: hits for path in sorted(Path(__file__).parent.glob("test_*.py"))
             if (hits := self_comparisons(path.read_text()))}
    assert found == {}
