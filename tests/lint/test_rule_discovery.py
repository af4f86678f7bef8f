"""Lint rules are discovered from the ``lightnb.lint.rules`` package: no hand-kept list of families."""

from __future__ import annotations

import pkgutil
import sys
import textwrap
from pathlib import Path

import pytest

from lightnb.lint import rules as rules_package
from lightnb.lint.engine import lint_sql, load_rules, rule_modules
from lightnb.lint.registry import RULES

RULES_DIR = Path(rules_package.__file__).parent


def test_every_module_of_the_rules_package_is_a_family_with_rules() -> None:
    files = sorted(p.stem for p in RULES_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert list(rule_modules()) == files
    families = {rule.family for rule in load_rules().values()}
    assert families == set(files), "a module of lint/rules registers no rule, or a rule lives elsewhere"


def test_every_rule_lives_in_the_rules_package() -> None:
    for rule in load_rules().values():
        assert rule.check.__module__ == f"lightnb.lint.rules.{rule.family}", rule.id


def test_no_other_lint_module_registers_a_rule() -> None:
    lint_dir = RULES_DIR.parent
    outside = [p for p in lint_dir.glob("*.py") if "@rule(" in p.read_text(encoding="utf-8")]
    assert outside == []


@pytest.fixture
def extra_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A rule family dropped into the rules package (through its search path), removed afterwards."""
    name = "zz_test_family"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent('''
        from lightnb.lint.registry import Hit, rule

        @rule("zz-test-rule", severity="warning", summary="flags the word zebra_marker in up.sql")
        def zebra(ctx):
            for statement in ctx.source.up.statements:
                if "zebra_marker" in statement.text:
                    yield Hit("up.sql", statement.line, "zebra_marker found")
    '''), encoding="utf-8")
    monkeypatch.setattr(rules_package, "__path__", [*rules_package.__path__, str(tmp_path)])
    yield name
    RULES.pop("zz-test-rule", None)
    sys.modules.pop(f"lightnb.lint.rules.{name}", None)


def test_a_module_added_to_the_rules_package_is_loaded_and_run(extra_family: str) -> None:
    assert extra_family in rule_modules()
    assert "zz-test-rule" in load_rules()
    assert load_rules()["zz-test-rule"].family == extra_family
    findings = lint_sql("CREATE TABLE zebra_marker (id INTEGER PRIMARY KEY);", "DROP TABLE zebra_marker;")
    assert [(f.rule, f.line) for f in findings if f.rule == "zz-test-rule"] == [("zz-test-rule", 1)]


def test_the_package_is_a_plain_package_of_modules() -> None:
    assert [m.name for m in pkgutil.iter_modules(rules_package.__path__) if m.ispkg] == []


def test_the_rule_ids_load_no_database_driver() -> None:
    """Reading lightnb.toml's ``[lint]`` asks for every rule id; in a SQLite project that must not import
    the PostgreSQL driver or parser (their ids are listed outside the PostgreSQL backend)."""
    import subprocess
    code = ("import sys; from lightnb.lint.config import rule_ids; ids = rule_ids(); "
            "assert 'pg-rename' in ids and 'destructive' in ids, sorted(ids); "
            "print(sorted(m for m in ('psycopg', 'pglast', 'lightnb.backends.postgres') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
