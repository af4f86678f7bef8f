"""A statement nested deeper than the SQL parser can follow (thousands of parentheses) is read as one it cannot
parse — SQLite refuses it too ("parser stack overflow") — never a "lightnb bug" from Python's recursion limit."""

from __future__ import annotations

import pytest
from reliability_support import write_migration

from lightnb import steps
from lightnb.backends import sqlite
from lightnb.inspect.impact import measure_impact
from lightnb.inspect.parsed import parse_statement
from lightnb.lint.source import parse_statement as lint_parse
from lightnb.project import Project

DEPTH = 50_000
DEEP = "SELECT " + "(" * DEPTH + "1" + ")" * DEPTH + ";\n"
NAME = "2024-02-01-000000-0000_deep"


@pytest.mark.parametrize("parse", [parse_statement, lint_parse], ids=["inspect", "lint"])
def test_the_parsers_read_it_as_unparsed(parse):
    assert parse(DEEP) is None


def test_lint_and_check_say_sqlite_refuses_it(guarded):
    write_migration(guarded.migrations, NAME, "CREATE TABLE kept (id INTEGER);\n" + DEEP, "DROP TABLE kept;\n")
    project = Project.discover(guarded.root)
    findings = steps.lint(project)
    assert [f.rule for f in findings if f.severity == "error"] == ["sql-error"]
    assert "parser stack overflow" in next(f.message for f in findings if f.rule == "sql-error")
    result = steps.check(project, database_url=guarded.production, run_tests=False)
    proof = next(m for m in result.migrations if m.migration == NAME)
    assert proof.verdict == "unsafe"
    assert any(r.startswith(f"cannot run up: Failed to run {NAME} with: parser stack overflow") for r in proof.reasons)
    guarded.assert_production_untouched()


def test_inspect_says_it_fails_on_the_copy(guarded, tmp_path):
    copy = tmp_path / "copy.db"
    copy.write_bytes(guarded.production.read_bytes())
    conn = sqlite.connect(copy)
    try:
        impacts = measure_impact(conn, DEEP)
    finally:
        conn.close()
    assert [i.kind for i in impacts] == ["error"]
    assert "parser stack overflow" in impacts[0].message
