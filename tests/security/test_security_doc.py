"""docs/security.md cannot rot: every test it names exists, every row of its tables names a
test, every test of tests/security is named there, and the issue's attacks all have rows."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
NODE_ID = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")
CELL_SPLIT = re.compile(r"(?<!\\)\|")  # a `\|` inside a cell is text, not a border
HEADER = ["input", "attack tried", "what happens", "test"]
# What issue 6 asked the table to cover, as words its rows must use.
REQUIRED_ATTACKS = [
    "forged",
    "expired",
    "reused",
    "CSRF",
    "altered",
    "SQL",
    "markup",
    "../",
    "larger than 64 KiB",
    "guessing",
    "another portfolio",
    "X-Forwarded-For",
]


def attack_rows() -> list[list[str]]:
    """The cells of every body row of every input/attack/what/test table."""
    rows: list[list[str]] = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [cell.strip() for cell in CELL_SPLIT.split(line.strip())[1:-1]]
        if cells == HEADER:
            in_table = True
        elif in_table and not set("".join(cells)) <= set("-: "):
            rows.append(cells)
    return rows


@cache
def functions_of(path: str) -> frozenset[str]:
    """Names of the module-level test functions of a test file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


def named_tests() -> set[tuple[str, str]]:
    return set(NODE_ID.findall(DOC.read_text(encoding="utf-8")))


def test_the_doc_has_a_table_row_for_every_attack_the_issue_lists() -> None:
    rows = attack_rows()
    assert len(rows) >= 80
    text = " ".join(" ".join(row[:3]) for row in rows)
    for attack in REQUIRED_ATTACKS:
        assert attack in text, f"no row about {attack!r}"


def test_every_row_has_four_cells_and_names_a_test() -> None:
    for row in attack_rows():
        assert len(row) == 4, row
        assert NODE_ID.search(row[3]), f"row without a test: {row[:2]}"


@pytest.mark.parametrize(("path", "name"), sorted(named_tests()))
def test_every_test_the_doc_names_exists(path: str, name: str) -> None:
    assert (ROOT / path).is_file(), path
    assert name in functions_of(path), f"{path}::{name} does not exist"


def test_every_security_test_is_named_in_the_doc() -> None:
    named = named_tests()
    here = Path(__file__).resolve().parent
    for module in sorted(here.glob("test_security_*.py")):
        if module.name == Path(__file__).name:
            continue
        path = module.relative_to(ROOT).as_posix()
        for name in functions_of(path):
            assert (path, name) in named, f"{path}::{name} is in no row of docs/security.md"
