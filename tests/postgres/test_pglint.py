"""PostgreSQL lint rules: each fires on the risky form and stays quiet on the safe rewrite it offers."""

from __future__ import annotations

import pytest

from lightnb.backends.postgres.pglint import RULES, lint_sql


def _rules(up: str, *, in_transaction: bool = True) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in lint_sql("m", up, run_in_transaction=in_transaction)]


@pytest.mark.parametrize("up, expected", [
    ("CREATE INDEX i ON users (email);", [("pg-index-not-concurrent", 1), ("pg-lock-timeout", 1)]),
    ("CREATE TABLE t (id int PRIMARY KEY, x int);\nCREATE INDEX i ON t (x);", []),
    ("CREATE INDEX CONCURRENTLY i ON users (email);", [("pg-concurrently-in-transaction", 1)]),
    ("SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN u uuid DEFAULT gen_random_uuid();",
     [("pg-volatile-default", 2)]),
    ("SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN n int NOT NULL DEFAULT 0;", []),
    ("SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN email SET NOT NULL;", [("pg-set-not-null", 2)]),
    ("SET lock_timeout = '5s';\nALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE users VALIDATE CONSTRAINT email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;", []),
    ("SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN id TYPE bigint;", [("pg-type-change", 2)]),
    ("SET lock_timeout = '5s';\nALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id);",
     [("pg-constraint-not-valid", 2)]),
    ("SET lock_timeout = '5s';\nALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) "
     "NOT VALID;", []),
    ("SET lock_timeout = '5s';\nALTER TABLE users RENAME COLUMN email TO mail;", [("pg-rename", 2)]),
    ("CREATE TABLE s (id int PRIMARY KEY, created_at integer NOT NULL, is_admin integer, seen_at bigint);",
     [("pg-int4-epoch", 1), ("pg-int4-boolean", 1)]),
    ("ALTER TABLE users ADD COLUMN expires_at int4;", [("pg-int4-epoch", 1), ("pg-lock-timeout", 1)]),
])
def test_rules(up: str, expected: list[tuple[str, int]]) -> None:
    assert sorted(_rules(up)) == sorted(expected)


def test_outside_a_transaction_concurrently_is_the_fix_not_a_finding() -> None:
    assert _rules("CREATE INDEX CONCURRENTLY i ON users (email);", in_transaction=False) == []


def test_every_finding_has_a_fix_and_a_known_rule() -> None:
    found = lint_sql("m", "ALTER TABLE users ADD COLUMN u uuid DEFAULT gen_random_uuid(), "
                          "ALTER COLUMN email SET NOT NULL, ALTER COLUMN id TYPE bigint;\n"
                          "CREATE INDEX i ON users (email);")
    assert {f.rule for f in found} == {"pg-volatile-default", "pg-set-not-null", "pg-type-change",
                                       "pg-index-not-concurrent", "pg-lock-timeout"}
    assert all(f.fix and f.rule in RULES and f.severity == RULES[f.rule][0] for f in found)
