"""Every case of the precision corpus: exact verdicts, proofs, reasons and measured impact (tests/precision/cases)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from lightnb import runner
from lightnb.backends import sqlite
from lightnb.checks import CheckResult, check
from lightnb.inspect.impact import measure_impact, measure_impacts
from lightnb.lint import lint_migrations, load_rules
from lightnb.lint.config import LintConfig
from lightnb.migrations import discover
from lightnb.project import Project
from tests.precision.corpus import Case, build, cases

CASES = cases()
_RECORD_KINDS = {"rows_inserted", "rows_updated"}  # what a statement touched: not a precision claim


def _check(case: Case, tmp_path: Path) -> tuple[CheckResult, Project, Path]:
    root, database = build(case, tmp_path)
    project = Project.discover(root)
    config = None if case.lint else LintConfig(disabled=frozenset(load_rules()))
    return check(project, database=database, run_tests=case.run_tests, config=config), project, database


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_says_exactly_what_the_case_expects(case: Case, tmp_path: Path) -> None:
    result, _project, _db = _check(case, tmp_path)
    by_name = {m.migration: m for m in result.migrations}
    assert list(by_name) == [name for name, _up, _down in case.migrations], "every pending migration gets a verdict"
    for name, expect in case.expect.items():
        got = by_name[name]
        context = f"{case.name} / {name}: {got.reasons}"
        assert got.verdict == expect["verdict"], context
        if "verdict_text" in expect:
            assert got.verdict_text == expect["verdict_text"], context
        if "steps" in expect:
            assert list(got.steps) == expect["steps"], context
        if "restores_exactly" in expect:
            assert got.restores_exactly == expect["restores_exactly"], context
        for key in ("schema_differences", "row_differences", "column_order"):
            if key in expect:
                assert list(getattr(got, key)) == expect[key], context
        for text in expect.get("reasons_include", []):
            assert any(text in reason for reason in got.reasons), f"missing {text!r} in {context}"
        for text in expect.get("reasons_exclude", []):
            assert not any(text in reason for reason in got.reasons), f"unexpected {text!r} in {context}"
        for rule in expect.get("rules_absent", []):
            assert not any(f.rule == rule for f in got.findings), context
        for severity in expect.get("severities_absent", []):
            assert not any(f.severity == severity for f in got.findings), context


@pytest.mark.parametrize("case", [c for c in CASES if any("impact" in e or "impact_messages" in e
                                                        for e in c.expect.values())],
                         ids=lambda c: c.name)
def test_impact_of_each_up_is_exactly_the_expected_one(case: Case, tmp_path: Path) -> None:
    root, database = build(case, tmp_path)
    copy = tmp_path / "copy.db"
    shutil.copyfile(database, copy)
    conn = sqlite.connect(copy)
    try:
        for migration in discover(root / "migrations"):
            expect = case.expect.get(migration.name, {})
            if migration.run_in_transaction:
                measured = measure_impact(conn, migration.up_sql(), reveal=True)
            else:  # measured as it runs, its own transactions and PRAGMAs acting (on a throwaway copy of the file)
                (measured,) = measure_impacts(copy, [migration.up_sql()], reveal=True, outside=[True])
            impacts = [i for i in measured if i.kind not in _RECORD_KINDS]
            got = sorted([i.kind, i.table or "", i.column or "", i.count, "" if i.found is None else i.found,
                          i.destination or ""] for i in impacts)
            if "impact" in expect:
                assert got == sorted(expect["impact"]), f"{migration.name}: {[i.message for i in impacts]}"
            for message in expect.get("impact_messages", []):
                assert message in [i.message for i in impacts], f"{migration.name}: {[i.message for i in impacts]}"
            runner.apply(conn, migration, "up")
    finally:
        conn.close()


@pytest.mark.parametrize("case", [c for c in CASES if any("destructive" in e for e in c.expect.values())],
                         ids=lambda c: c.name)
def test_destructive_findings_are_judged_by_where_the_values_are(case: Case, tmp_path: Path) -> None:
    """Each [severity, message part] of ``destructive``: exactly the destructive findings of that migration."""
    root, database = build(case, tmp_path)
    only = LintConfig(disabled=frozenset(r for r in load_rules() if r != "destructive"))
    findings = lint_migrations(discover(root / "migrations"), database=database, config=only)
    for name, expect in case.expect.items():
        if "destructive" not in expect:
            continue
        got = [(f.severity, f.message) for f in findings if f.migration == name]
        assert len(got) == len(expect["destructive"]), f"{name}: {got}"
        for severity, part in expect["destructive"]:
            assert any(s == severity and part in m for s, m in got), f"{name}: missing {severity} {part!r} in {got}"
        assert not any(" lost" in m for s, m in got if s == "info"), f"{name}: 'lost' only when lost: {got}"


def test_the_corpus_covers_every_idiom() -> None:
    names = " ".join(c.name for c in CASES)
    for idiom in ("damage", "column_back", "insert_select", "create_table_as", "convert", "rebuild",
                  "cosmetic", "not_created_by_migrations", "irreversible", "outside_a_transaction", "lossy_cast"):
        assert idiom in names


def test_production_is_never_written(tmp_path: Path) -> None:
    case = CASES[0]
    root, database = build(case, tmp_path)
    before = database.read_bytes()
    check(Project.discover(root), database=database, run_tests=False)
    assert database.read_bytes() == before
    assert sqlite3.connect(database).execute("SELECT count(*) FROM sqlite_master WHERE name LIKE '__diesel%'"
                                             ).fetchone() == (0,)
