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
        # The left side, or each element of a tuple/list on the left: a check of f(x) == x stays allowed.
        parts = node.left.elts if isinstance(node.left, (ast.Tuple, ast.List)) else []
        left = {ast.dump(node.left)} | {ast.dump(n) for n in parts if isinstance(n, PARTS)}
        if any(ast.dump(n) in left for comparator in node.comparators for n in ast.walk(comparator)
               if isinstance(n, (*PARTS, ast.Name))):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_detector_sees_the_pattern_it_looks_for():
    assert self_comparisons("assert (a.x, b.y) == ('C', z and b.y)") == ["line 1: (a.x, b.y) == ('C', z and b.y)"]
    assert self_comparisons("assert a.x == b.x and c == d") == []
    assert self_comparisons("assert f(date(1, 2, 3)) == date(1, 2, 3)") == []  # an identity check can fail


def test_no_assertion_compares_a_value_with_itself():
    found = {path.name: hits for path in sorted(Path(__file__).parent.glob("test_*.py"))
             if (hits := self_comparisons(path.read_text()))}
    assert found == {}
