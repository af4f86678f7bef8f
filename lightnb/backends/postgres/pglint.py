"""Lint rules for PostgreSQL migrations, in the spirit of squawk and strong_migrations, adapted to Diesel
(every migration runs in one transaction unless its metadata.toml says ``run_in_transaction = false``).

Each rule reads PostgreSQL's own parse tree (pglast) of one statement of up.sql. A table counts as
existing (so locking it matters) unless the same up.sql creates it. The lock and rewrite a statement
really causes is measured on the clone by ``check`` (:mod:`~lightnb.backends.postgres.locks`) and shown
next to these findings; the rules say what to write instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from lightnb.backends.postgres import rewrites
from lightnb.backends.postgres.rewrites import Rewrite
from lightnb.backends.postgres.shape import qualified
from lightnb.backends.postgres.split import split
from lightnb.lint.finding import Finding
from lightnb.lint.postgres_rules import RULES
from lightnb.migrations import Migration

# Functions whose value differs per row or per call: as a column default they force a table rewrite.
VOLATILE = frozenset({"random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1",
                      "uuid_generate_v1mc", "uuid_generate_v4", "nextval", "txid_current", "statement_timestamp"})
_TIME_NAME = re.compile(r"(^|_)(at|time|timestamp|date|until|expires?|deadline|ts)$|_at_|_time_")
_BOOL_NAME = re.compile(r"^(is|has|can|should|was|allow|enable|disable)_|_(enabled|disabled|flag|active|deleted)$")


def _tree(text: str) -> dict[str, Any] | None:
    try:
        stmts = json.loads(parse_sql_json(text)).get("stmts", [])
    except ParseError:
        return None
    return stmts[0].get("stmt") if stmts else None


def _relation(node: dict[str, Any]) -> str:
    relation = node.get("relation", {})
    schema = relation.get("schemaname")
    return qualified(schema, relation.get("relname", "")) if schema else relation.get("relname", "")


def _type_name(column: dict[str, Any]) -> str:
    names = [n.get("String", {}).get("sval", "") for n in column.get("typeName", {}).get("names", [])]
    return names[-1].lower() if names else ""


def _functions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "FuncCall" in node:
            names = node["FuncCall"].get("funcname", [])
            if names:
                yield names[-1].get("String", {}).get("sval", "").lower()
        for value in node.values():
            yield from _functions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _functions(value)


def _int4_columns(columns: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for column in columns:
        if _type_name(column) in ("int4", "integer", "int", "serial4"):
            name = column.get("colname", "")
            if _TIME_NAME.search(name.lower()):
                yield "pg-int4-epoch", name
            elif _BOOL_NAME.search(name.lower()):
                yield "pg-int4-boolean", name


def lint_sql(name: str, up: str, *, run_in_transaction: bool = True) -> list[Finding]:
    """Lint one up.sql; return its findings (rule, statement line, message, fix)."""
    return [finding for finding, _rewrite in lint_sql_rewrites(name, up, run_in_transaction=run_in_transaction)]


def lint_sql_rewrites(name: str, up: str, *, run_in_transaction: bool = True
                      ) -> list[tuple[Finding, Rewrite | None]]:
    """Lint one up.sql; return each finding with the SQL of its safe rewrite (None when no SQL is the fix)."""
    found: list[tuple[Finding, Rewrite | None]] = []
    created: set[str] = set()
    lock_timeout = False
    locked_existing: int | None = None
    text = ""
    line = 0

    def add(rule: str, line: int, message: str, fix: str, sql: str | None = None, *,
            in_transaction: bool = True, whole: bool = False, shown: str | None = None) -> None:
        severity = RULES[rule][0]
        rewrite = None
        if sql is not None:
            rewrite = Rewrite(sql, () if whole else rewrites.statements_before(up, line), in_transaction, shown)
        found.append((Finding(rule, severity, name, "up.sql", line, message, fix), rewrite))

    for statement in split(up):
        node = _tree(statement.text)
        if node is None:
            continue
        line = statement.line
        text = statement.text
        if "VariableSetStmt" in node and node["VariableSetStmt"].get("name") == "lock_timeout":
            lock_timeout = True
        if "CreateStmt" in node:
            table = _relation(node["CreateStmt"])
            created.add(table)
            columns = [e["ColumnDef"] for e in node["CreateStmt"].get("tableElts", []) if "ColumnDef" in e]
            for rule, column in _int4_columns(columns):
                _column_rule(add, rule, line, table, column, text)
        elif "IndexStmt" in node:
            index = node["IndexStmt"]
            table = _relation(index)
            if index.get("concurrent") and run_in_transaction:
                add("pg-concurrently-in-transaction", line, f"CREATE INDEX CONCURRENTLY on {table} fails inside the "
                    f"migration's transaction (diesel runs each migration in one)",
                    "add metadata.toml with `run_in_transaction = false` beside up.sql, and keep this statement "
                    "alone in its migration", text, in_transaction=False)
            elif not index.get("concurrent") and table not in created:
                add("pg-index-not-concurrent", line, f"CREATE INDEX on existing table {table} takes a SHARE lock: "
                    f"every write of {table} waits until the index is built",
                    "write CREATE INDEX CONCURRENTLY … in a migration of its own with metadata.toml "
                    "`run_in_transaction = false` (down.sql: DROP INDEX CONCURRENTLY IF EXISTS …)",
                    rewrites.concurrent_index(text), in_transaction=False)
                locked_existing = locked_existing or line
        elif "DropStmt" in node and node["DropStmt"].get("concurrent") and run_in_transaction:
            add("pg-concurrently-in-transaction", line, "DROP INDEX CONCURRENTLY fails inside the migration's "
                "transaction", "add metadata.toml with `run_in_transaction = false` beside this migration", text,
                in_transaction=False)
        elif "RenameStmt" in node:
            rename = node["RenameStmt"]
            table = _relation(rename)
            if table not in created and rename.get("renameType") in ("OBJECT_TABLE", "OBJECT_COLUMN"):
                what = (f"column {table}.{rename.get('subname')}" if rename["renameType"] == "OBJECT_COLUMN"
                        else f"table {table}")
                add("pg-rename", line, f"renaming {what} to {rename.get('newname')} breaks every running "
                    f"instance of the application that still uses the old name",
                    "add the new name first (a new column filled by the application or a view), deploy code that "
                    "uses it, and drop the old name in a later migration")
                locked_existing = locked_existing or line
        elif "AlterTableStmt" in node:
            alter = node["AlterTableStmt"]
            table = _relation(alter)
            if table in created:
                continue
            locked_existing = locked_existing or line
            for index, cmd in enumerate(c.get("AlterTableCmd", {}) for c in alter.get("cmds", [])):
                _alter_rules(add, line, table, cmd, up, text, index)
    if locked_existing is not None and not lock_timeout and run_in_transaction:
        add("pg-lock-timeout", locked_existing, "this migration locks an existing table without SET lock_timeout: "
            "queued behind a long transaction, it would block every query on that table while it waits",
            "start up.sql with `SET lock_timeout = '5s';` (it lasts until the migration's transaction ends) and "
            "retry when it times out", rewrites.with_lock_timeout(up), in_transaction=run_in_transaction, whole=True,
            shown="SET lock_timeout = '5s';  -- first line of up.sql, the rest unchanged")
    return found


def _column_rule(add: Any, rule: str, line: int, table: str, column: str, text: str) -> None:
    if rule == "pg-int4-epoch":
        add(rule, line, f"{table}.{column} is INTEGER (int4): Unix seconds overflow it on 2038-01-19",
            f"declare {column} BIGINT (Diesel: BigInt, i64)", rewrites.retyped_column(text, column, "bigint"))
    else:
        add(rule, line, f"{table}.{column} is an INTEGER used as a boolean",
            f"declare {column} BOOLEAN (Diesel: Bool, bool)", rewrites.retyped_column(text, column, "boolean"))


def _alter_rules(add: Any, line: int, table: str, cmd: dict[str, Any], script: str, text: str, index: int) -> None:
    subtype = cmd.get("subtype")
    definition = cmd.get("def", {})
    if subtype == "AT_AddColumn":
        column = definition.get("ColumnDef", {})
        name = column.get("colname", "")
        for constraint in (c.get("Constraint", {}) for c in column.get("constraints", [])):
            if constraint.get("contype") == "CONSTR_DEFAULT":
                volatile = sorted(set(_functions(constraint.get("raw_expr"))) & VOLATILE)
                if volatile:
                    add("pg-volatile-default", line, f"ADD COLUMN {table}.{name} with DEFAULT {volatile[0]}() "
                        f"rewrites {table} under ACCESS EXCLUSIVE (a volatile default is computed for every row)",
                        f"add {name} without a default (or with a constant one), set the default in a second "
                        f"statement, and fill existing rows in batches", rewrites.volatile_default(text, index))
        for rule, col in _int4_columns([column]):
            _column_rule(add, rule, line, table, col, text)
    elif subtype == "AT_SetNotNull":
        column = cmd.get("name", "")
        if not re.search(rf"check\s*\(\s*\"?{re.escape(column)}\"?\s+is\s+not\s+null\s*\)", script, re.I):
            add("pg-set-not-null", line, f"SET NOT NULL on {table}.{column} scans every row under ACCESS "
                f"EXCLUSIVE", f"ALTER TABLE {table} ADD CONSTRAINT {column}_not_null CHECK ({column} IS NOT NULL) "
                f"NOT VALID; then, in the next migration, ALTER TABLE {table} VALIDATE CONSTRAINT {column}_not_null; "
                f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL; (PostgreSQL 12+ skips the scan)",
                rewrites.set_not_null(text, index))
    elif subtype == "AT_AlterColumnType":
        column = cmd.get("name", "")
        new = _type_name(definition.get("ColumnDef", {}))
        add("pg-type-change", line, f"changing the type of {table}.{column} to {new} rewrites {table} (and its "
            f"indexes) under ACCESS EXCLUSIVE unless the types are binary-compatible (check measures it)",
            f"add a new column of type {new}, fill it in batches, switch the application, then drop {column}")
    elif subtype == "AT_AddConstraint":
        constraint = definition.get("Constraint", {})
        kind = constraint.get("contype")
        if kind in ("CONSTR_FOREIGN", "CONSTR_CHECK") and not constraint.get("skip_validation"):
            word = "FOREIGN KEY" if kind == "CONSTR_FOREIGN" else "CHECK"
            name = constraint.get("conname") or "the constraint"
            add("pg-constraint-not-valid", line, f"ADD {word} on existing table {table} checks every row while "
                f"holding a lock that blocks its writes", f"add it with NOT VALID, then in a later migration "
                f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}; (validation takes only SHARE UPDATE EXCLUSIVE)",
                rewrites.not_valid_constraint(text, index))


def lint_migration(migration: Migration) -> list[Finding]:
    """Lint one migration's up.sql with the PostgreSQL rules."""
    return lint_sql(migration.name, migration.up_sql(), run_in_transaction=migration.run_in_transaction)
