"""The team's own schema rules on PostgreSQL, judged on what a migration really creates.

On SQLite, ``timestamp-text``, ``json-column`` and ``secret-plaintext`` read SQLite's view of the
schema while up.sql is replayed (:mod:`lightnb.lint.rules.timestamps`, ``jsontypes``, ``secrets``).
Here the same rules read PostgreSQL's catalogue (:func:`~lightnb.backends.postgres.records.read_catalog`)
before and after the migration ran on a clone, so a column counts with the type the server gave it
(``format_type``: ``timestamp with time zone``, ``character varying(64)``, ``jsonb`` …), whatever
statement made it (``CREATE TABLE``, ``ADD COLUMN``, ``ALTER … TYPE``, a ``DO`` block).

A column is the migration's when it is new (by table, following ``ALTER TABLE … RENAME TO``) or its
type or default changed; a partition's (or an ``INHERITS`` child's) inherited columns are judged once, on
its parent. Each finding points at the statement of up.sql that names the column (else
the one that names its table), with the SQLite rule's id and severity, so ``[lint]`` settings apply
on both backends.

* ``timestamp-text``: a column that is a timestamp — by its type (timestamp, timestamptz, date, time),
  by a default that makes one (``now()``, ``CURRENT_TIMESTAMP`` …) or by its name (``created_at``,
  ``*_date``, ``*_time`` … as on SQLite) — stored as a time type, text or a non-integer number instead
  of integer Unix seconds. Integer columns are left to ``pg-int4-epoch`` (int4 overflows in 2038).
* ``json-column``: a ``json`` or ``jsonb`` column (arrays of them too).
* ``secret-plaintext``: a column named like a secret (the project's ``[lint.secrets]`` words) that holds
  text, bytes, a document or a uuid and is not named after the encryption convention.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from lightnb.backends.postgres.shape import qualified
from lightnb.backends.postgres.split import split
from lightnb.catalog import Catalog, Column
from lightnb.lint.finding import Finding, Severity
from lightnb.lint.options import LintConfig

TEAM_RULES: tuple[str, ...] = ("timestamp-text", "json-column", "secret-plaintext")

INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
TIME_TYPES = frozenset({"timestamp without time zone", "timestamp with time zone", "date",
                        "time without time zone", "time with time zone"})
TEXT_TYPES = frozenset({"text", "character varying", "character", "citext", "name", '"char"'})
NUMBER_TYPES = frozenset({"numeric", "real", "double precision", "money"})
JSON_TYPES = frozenset({"json", "jsonb"})
# what a secret can be stored as in plain: text, bytes, a document, a uuid (a bearer token)
VALUE_TYPES = TEXT_TYPES | JSON_TYPES | frozenset({"bytea", "uuid", "xml"})
# defaults that produce a date/time value (pg_get_expr's spelling: now(), CURRENT_TIMESTAMP, …)
_TIME_DEFAULT = re.compile(r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|"
                           r"to_char|to_timestamp|localtimestamp|localtime|current_timestamp|current_date|"
                           r"current_time)\b", re.IGNORECASE)
_EPOCH = re.compile(r"\bextract\s*\(\s*['\"]?epoch\b|\bdate_part\s*\(\s*'epoch'", re.IGNORECASE)


def base_type(formatted: str) -> str:
    """``character varying(64)[]`` → ``character varying``; ``timestamp(3) with time zone`` → ``timestamp with
    time zone``; ``public.citext`` → ``citext`` (what the rules compare)."""
    text = re.sub(r"\(\s*\d+(\s*,\s*\d+)?\s*\)", "", formatted.strip()).strip()
    while text.endswith("[]"):
        text = text[:-2].strip()
    if "." in text and not text.startswith('"'):
        text = text.rsplit(".", 1)[1]
    return " ".join(text.lower().split())


@dataclass(frozen=True, slots=True)
class DefinedColumn:
    """A column the migration created or changed, and the line of up.sql that made it."""

    table: str
    column: Column
    line: int


def defined_columns(before: Catalog, after: Catalog, up: str) -> list[DefinedColumn]:
    """The columns of ``after`` that are new or changed (type or default) since ``before``."""
    statements = _statements(up)
    renamed = {new: old for _line, _text, made in statements for new, old in made.renames}
    children = {table for _line, _text, made in statements for table in made.children}
    declared = {pair for _line, _text, made in statements for pair in made.columns}
    found = []
    for table in after.user_tables:
        old_table = before.table(table.name) or (before.table(renamed[table.name]) if table.name in renamed else None)
        for column in table.columns:
            old = old_table.column(column.name) if old_table is not None else None
            if old is not None and (old.type, old.default) == (column.type, column.default):
                continue
            if table.name in children and (table.name, column.name) not in declared:
                continue  # a partition's or child's inherited column: judged on the parent
            found.append(DefinedColumn(table.name, column, _line_of(statements, table.name, column.name)))
    return found


def team_findings(migration: str, before: Catalog, after: Catalog, up: str, config: LintConfig,
                  severities: dict[str, Severity]) -> list[Finding]:
    """The team rules' findings for one migration, judged on the catalogue before and after it ran.

    :param severities: each team rule's default severity (the SQLite rule's), by id.
    """
    found = []
    for defined in defined_columns(before, after, up):
        for rule, message, fix in _judge(defined, config):
            if config.enabled(rule):
                found.append(Finding(rule, config.severity(rule, severities[rule]), migration, "up.sql",
                                     defined.line, message, fix))
    return found


def _judge(defined: DefinedColumn, config: LintConfig) -> Iterator[tuple[str, str, str]]:
    from lightnb.lint.rules.secrets import is_secret_name
    from lightnb.lint.rules.timestamps import is_timestamp_name
    column, table = defined.column, defined.table
    where = f"{table}.{column.name}"
    kind = base_type(column.type)
    default = column.default or ""
    time_default = bool(_TIME_DEFAULT.search(default)) and not _EPOCH.search(default)
    if (kind in TIME_TYPES or time_default or is_timestamp_name(column.name)) and \
            kind in TIME_TYPES | TEXT_TYPES | NUMBER_TYPES:
        declared = f"{column.name} BIGINT{' NOT NULL' if column.notnull else ''}" \
                   f"{' DEFAULT extract(epoch FROM now())::bigint' if column.default else ''}"
        yield ("timestamp-text", f"{where} is a timestamp declared {column.type}; store Unix seconds in BIGINT",
               f"declare it `{declared}` (Diesel: BigInt, i64) and convert in Rust with "
               f"chrono::DateTime::from_timestamp(secs, 0)")
    if kind in JSON_TYPES:
        yield ("json-column", f"{where} is declared {column.type}",
               "model the data as columns or a child table; if it must stay a document, declare it TEXT and "
               "(de)serialize it in Rust with serde_json")
    if kind in VALUE_TYPES and is_secret_name(column.name, config) and not config.is_encrypted_name(column.name):
        prefix = config.encrypted_prefixes[0] if config.encrypted_prefixes else "encrypted_"
        yield ("secret-plaintext", f"{where} looks like a secret stored in plaintext ({column.type})",
               f"store it encrypted (or hashed) and name it after the convention, e.g. {prefix}{column.name}; "
               f"encrypt in Rust before writing")


def declared_findings(migration: str, up: str, config: LintConfig, severities: dict[str, Severity]) -> list[Finding]:
    """The team rules' findings read from up.sql's own declarations (``CREATE TABLE``, ``ADD COLUMN``,
    ``ALTER … TYPE``), for a migration that did not run on a copy (the editor's check, an applied migration,
    one after a migration that fails): the same judgement, on the types as PostgreSQL names them."""
    found = []
    for defined in _declared_columns(up):
        for rule, message, fix in _judge(defined, config):
            if config.enabled(rule):
                found.append(Finding(rule, config.severity(rule, severities[rule]), migration, "up.sql",
                                     defined.line, message, fix))
    return found


# pglast's type names (pg_catalog's) as format_type prints them
_TYPE_NAMES = {"int2": "smallint", "int4": "integer", "int8": "bigint", "int": "integer", "serial": "integer",
               "serial4": "integer", "serial2": "smallint", "smallserial": "smallint", "serial8": "bigint",
               "bigserial": "bigint", "float4": "real", "float8": "double precision", "decimal": "numeric",
               "bool": "boolean", "varchar": "character varying", "bpchar": "character", "char": "character",
               "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
               "time": "time without time zone", "timetz": "time with time zone"}
_TIME_VALUES = {"SVFOP_CURRENT_DATE": "CURRENT_DATE", "SVFOP_CURRENT_TIME": "CURRENT_TIME",
                "SVFOP_CURRENT_TIME_N": "CURRENT_TIME", "SVFOP_CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
                "SVFOP_CURRENT_TIMESTAMP_N": "CURRENT_TIMESTAMP", "SVFOP_LOCALTIME": "LOCALTIME",
                "SVFOP_LOCALTIME_N": "LOCALTIME", "SVFOP_LOCALTIMESTAMP": "LOCALTIMESTAMP",
                "SVFOP_LOCALTIMESTAMP_N": "LOCALTIMESTAMP"}


def _declared_columns(up: str) -> list[DefinedColumn]:
    found = []
    for statement in split(up):
        try:
            stmts = json.loads(parse_sql_json(statement.text)).get("stmts", [])
        except ParseError:
            continue
        node = stmts[0].get("stmt", {}) if stmts else {}
        if "CreateStmt" in node:
            table = _relation(node["CreateStmt"].get("relation", {}))
            found += [DefinedColumn(table, _column(e["ColumnDef"]), statement.line)
                      for e in node["CreateStmt"].get("tableElts", []) if "ColumnDef" in e]
        elif "AlterTableStmt" in node:
            table = _relation(node["AlterTableStmt"].get("relation", {}))
            for cmd in (c.get("AlterTableCmd", {}) for c in node["AlterTableStmt"].get("cmds", [])):
                definition = cmd.get("def", {}).get("ColumnDef")
                if cmd.get("subtype") == "AT_AddColumn" and definition:
                    found.append(DefinedColumn(table, _column(definition), statement.line))
                elif cmd.get("subtype") == "AT_AlterColumnType" and definition:
                    found.append(DefinedColumn(table, _column({**definition, "colname": cmd.get("name", "")}),
                                               statement.line))
    return found


def _column(definition: dict[str, Any]) -> Column:
    type_name = definition.get("typeName", {})
    names = [n.get("String", {}).get("sval", "") for n in type_name.get("names", [])]
    base = names[-1].lower() if names else ""
    shown = _TYPE_NAMES.get(base, base) + ("[]" if type_name.get("arrayBounds") else "")
    constraints = [c.get("Constraint", {}) for c in definition.get("constraints", [])]
    defaults = [c.get("raw_expr") for c in constraints if c.get("contype") == "CONSTR_DEFAULT"]
    notnull = any(c.get("contype") in ("CONSTR_NOTNULL", "CONSTR_PRIMARY") for c in constraints)
    return Column(definition.get("colname", ""), shown, notnull, _default_words(defaults[0]) if defaults else None, 0)


def _default_words(node: Any) -> str:
    """What the rules read of a default: its function calls and SQL value functions (``now() CURRENT_DATE``)."""
    words: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "FuncCall" in value:
                names = value["FuncCall"].get("funcname", [])
                name = names[-1].get("String", {}).get("sval", "").lower() if names else ""
                args = value["FuncCall"].get("args", [])
                first = args[0].get("A_Const", {}).get("sval", {}).get("sval", "") if args else ""
                words.append(f"{name}({first}" if first == "epoch" else f"{name}()")
            if "SQLValueFunction" in value:
                words.append(_TIME_VALUES.get(value["SQLValueFunction"].get("op", ""), ""))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return " ".join(w for w in words if w) or "(expression)"


@dataclass(frozen=True, slots=True)
class _Made:
    """What one statement names: ``(table, column)`` pairs (column ``*``: every column) and table renames."""

    columns: frozenset[tuple[str, str]]
    tables: frozenset[str]
    renames: tuple[tuple[str, str], ...] = ()  # (new name, old name)
    children: frozenset[str] = frozenset()  # tables made as a partition or child of another (inherited columns)


def _statements(up: str) -> list[tuple[int, str, _Made]]:
    out = []
    for statement in split(up):
        try:
            stmts = json.loads(parse_sql_json(statement.text)).get("stmts", [])
        except ParseError:
            stmts = []
        node = stmts[0].get("stmt", {}) if stmts else {}
        out.append((statement.line, statement.text, _made(node)))
    return out


def _relation(node: dict[str, Any]) -> str:
    schema, name = node.get("schemaname"), node.get("relname", "")
    return qualified(schema, name) if schema else name


def _made(node: dict[str, Any]) -> _Made:
    columns: set[tuple[str, str]] = set()
    tables: set[str] = set()
    renames: list[tuple[str, str]] = []
    children: set[str] = set()
    if "CreateStmt" in node:
        table = _relation(node["CreateStmt"].get("relation", {}))
        tables.add(table)
        if node["CreateStmt"].get("inhRelations"):
            children.add(table)
        columns |= {(table, e["ColumnDef"].get("colname", "")) for e in node["CreateStmt"].get("tableElts", [])
                    if "ColumnDef" in e}
    elif "CreateTableAsStmt" in node:
        table = _relation(node["CreateTableAsStmt"].get("into", {}).get("rel", {}))
        tables.add(table)
        columns.add((table, "*"))
    elif "AlterTableStmt" in node:
        table = _relation(node["AlterTableStmt"].get("relation", {}))
        tables.add(table)
        for cmd in (c.get("AlterTableCmd", {}) for c in node["AlterTableStmt"].get("cmds", [])):
            if cmd.get("subtype") == "AT_AddColumn":
                columns.add((table, cmd.get("def", {}).get("ColumnDef", {}).get("colname", "")))
            elif cmd.get("name"):
                columns.add((table, cmd["name"]))
    elif "RenameStmt" in node:
        rename = node["RenameStmt"]
        table = _relation(rename.get("relation", {}))
        tables.add(table)
        if rename.get("renameType") == "OBJECT_COLUMN":
            columns.add((table, rename.get("newname", "")))
        elif rename.get("renameType") == "OBJECT_TABLE":
            schema = rename.get("relation", {}).get("schemaname")
            new = qualified(schema, rename.get("newname", "")) if schema else rename.get("newname", "")
            tables.add(new)
            columns.add((new, "*"))
            renames.append((new, table))
    return _Made(frozenset(columns), frozenset(tables), tuple(renames), frozenset(children))


def _line_of(statements: Sequence[tuple[int, str, _Made]], table: str, column: str) -> int:
    """The line of the last statement that makes the column (``CREATE TABLE``, ``ALTER TABLE``), else the last
    whose text names it (a ``DO`` block), else the last that names its table."""
    for wanted in ((table, column), (table, "*")):
        lines = [line for line, _text, made in statements if wanted in made.columns]
        if lines:
            return lines[-1]
    bare = table.rsplit(".", 1)[-1]
    named = [(line, text) for line, text, _made in statements if _word(column).search(text)]
    lines = [line for line, text in named if _word(bare).search(text)] or [line for line, _text in named]
    if lines:
        return lines[-1]
    lines = [line for line, _text, made in statements if table in made.tables]
    return lines[-1] if lines else (statements[0][0] if statements else 0)


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])", re.IGNORECASE)


__all__ = ["TEAM_RULES", "DefinedColumn", "base_type", "declared_findings", "defined_columns", "team_findings"]
