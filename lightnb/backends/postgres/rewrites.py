"""The safe rewrite a PostgreSQL lint finding offers, as SQL that can be run on a clone before it is offered.

Each function takes one statement of up.sql (its text) and returns a :class:`Rewrite`: the SQL to
write instead, and whether it runs inside the migration's transaction (``CREATE INDEX CONCURRENTLY``
cannot). The SQL is produced from PostgreSQL's own parse tree (pglast) and printed back by pglast, so
names, types and expressions are the migration's own. None when no SQL rewrite exists (a rename or a
type change needs an application deploy between its steps: no single script is "the fix").

Running a rewrite is :mod:`~lightnb.backends.postgres.lintproject`'s job (on a clone, guarded).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import ConstrType
from pglast.parser import ParseError
from pglast.stream import RawStream

from lightnb.backends.postgres.split import split


@dataclass(frozen=True, slots=True)
class Rewrite:
    """SQL a fix offers.

    :param sql: the statements to write instead (each ends with ``;``).
    :param before: the statements of up.sql that run before it (a failing one is skipped on the clone,
        as it fails without the fix too).
    :param in_transaction: run ``sql`` in one transaction (False: each statement commits alone, as with
        ``run_in_transaction = false``).
    """

    sql: str
    before: tuple[str, ...] = ()
    in_transaction: bool = True
    shown: str | None = None  # what the fix shows, when not all of ``sql`` (e.g. a line added to up.sql)


def _statement(text: str) -> Any | None:
    try:
        parsed = parse_sql(text)
    except ParseError:
        return None
    return parsed[0].stmt if parsed else None


def _of(text: str, kind: type) -> Any:
    """The statement's node when it is a ``kind`` (typed loosely: pglast's optional fields are set here)."""
    node = _statement(text)
    return node if isinstance(node, kind) else None


def _print(node: Any) -> str:
    return str(RawStream()(node)) + ";"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _alter(template: Any, cmds: list[Any]) -> Any:
    node = copy.deepcopy(template)
    node.cmds = tuple(cmds)
    return node


def _others(alter: Any, index: int) -> list[str]:
    """The ALTER TABLE of the other subcommands of the statement (the rewrite replaces only one)."""
    rest = [c for i, c in enumerate(alter.cmds) if i != index]
    return [_print(_alter(alter, rest))] if rest else []


def concurrent_index(text: str) -> str | None:
    """``CREATE INDEX …`` → ``CREATE INDEX CONCURRENTLY …`` (None when ``text`` is no CREATE INDEX)."""
    node = _of(text, ast.IndexStmt)
    if node is None:
        return None
    node = copy.deepcopy(node)
    node.concurrent = True
    return _print(node)


def volatile_default(text: str, index: int) -> str | None:
    """``ADD COLUMN c t DEFAULT f()`` → ``ADD COLUMN c t`` then ``ALTER COLUMN c SET DEFAULT f()`` (new rows
    only; existing rows are filled in batches by the application or a later migration)."""
    alter = _of(text, ast.AlterTableStmt)
    if alter is None:
        return None
    column = copy.deepcopy(alter.cmds[index].def_)
    defaults = [c for c in (column.constraints or ()) if c.contype == ConstrType.CONSTR_DEFAULT]
    if not defaults:
        return None
    column.constraints = tuple(c for c in column.constraints if c not in defaults) or None
    add = _alter(alter, [ast.AlterTableCmd(subtype=alter.cmds[index].subtype, def_=column, behavior=0)])
    relation = str(RawStream()(alter.relation))
    expression = str(RawStream()(defaults[0].raw_expr))
    return "\n".join(_others(alter, index) + [
        _print(add), f"ALTER TABLE {relation} ALTER COLUMN {_quote(column.colname)} SET DEFAULT {expression};"])


def set_not_null(text: str, index: int) -> str | None:
    """``ALTER COLUMN c SET NOT NULL`` → a NOT VALID check, its validation, then SET NOT NULL (which then
    skips the scan). On the clone the validation reads every row: a NULL makes the rewrite fail there."""
    alter = _of(text, ast.AlterTableStmt)
    if alter is None:
        return None
    column = alter.cmds[index].name
    relation = str(RawStream()(alter.relation))
    name = _quote(f"{column}_not_null")
    return "\n".join(_others(alter, index) + [
        f"ALTER TABLE {relation} ADD CONSTRAINT {name} CHECK ({_quote(column)} IS NOT NULL) NOT VALID;",
        f"ALTER TABLE {relation} VALIDATE CONSTRAINT {name};",
        f"ALTER TABLE {relation} ALTER COLUMN {_quote(column)} SET NOT NULL;"])


def not_valid_constraint(text: str, index: int) -> str | None:
    """``ADD CONSTRAINT … FOREIGN KEY/CHECK`` → the same ``NOT VALID``, then ``VALIDATE CONSTRAINT`` (when it
    has a name: an unnamed constraint cannot be validated by name later, so only the first half is run)."""
    alter = _of(text, ast.AlterTableStmt)
    if alter is None:
        return None
    cmd = copy.deepcopy(alter.cmds[index])
    constraint = cmd.def_
    constraint.skip_validation = True
    constraint.initially_valid = False
    lines = _others(alter, index) + [_print(_alter(alter, [cmd]))]
    if constraint.conname:
        lines.append(f"ALTER TABLE {RawStream()(alter.relation)} VALIDATE CONSTRAINT {_quote(constraint.conname)};")
    return "\n".join(lines)


def retyped_column(text: str, column: str, type_name: str) -> str | None:
    """The CREATE TABLE or ALTER TABLE … ADD COLUMN with ``column`` declared ``type_name`` (``bigint``,
    ``boolean``); its default and constraints are kept, so a default that does not fit fails on the clone."""
    node: Any = copy.deepcopy(_statement(text))
    if isinstance(node, ast.CreateStmt):
        columns = [e for e in (node.tableElts or ()) if isinstance(e, ast.ColumnDef)]
    elif isinstance(node, ast.AlterTableStmt):
        columns = [c.def_ for c in (node.cmds or ()) if isinstance(getattr(c, "def_", None), ast.ColumnDef)]
    else:
        return None
    target = next((c for c in columns if c.colname == column), None)
    if target is None:
        return None
    target.typeName = ast.TypeName(names=(ast.String(sval=type_name),), typemod=-1)
    return _print(node)


def with_lock_timeout(script: str) -> str:
    """up.sql with ``SET lock_timeout`` first (it lasts until the migration's transaction ends)."""
    return "SET lock_timeout = '5s';\n" + script


def statements_before(script: str, line: int) -> tuple[str, ...]:
    """The statements of ``script`` that start before ``line``."""
    return tuple(s.text for s in split(script) if s.line < line)
