"""Measure what each statement of a migration does to the rows of a copy.

Every statement runs for real, inside one SAVEPOINT that is rolled back at the end
(unless ``keep=True``), on a connection to a copy of the database, under lightnb's SQL guard
(:mod:`lightnb.backends.sqlite.guard`: no ATTACH of another file, no VACUUM INTO outside the copy). Around each
statement, set-wise SQL counts: rows deleted, updated and inserted (``changes()``,
plus cascades seen in child tables); rows that would break a new NOT NULL, UNIQUE,
CHECK or FOREIGN KEY constraint; values whose storage class changes when copied into
a column of another type; and, over the whole script, orphans reported by
``PRAGMA foreign_key_check``. Statements are read with sqlglot.

**Lost only when lost.** A dropped column or table is saved (in a TEMP table of the copy)
when it is dropped, and judged *after the whole migration*: its values count as lost only
when they are not found elsewhere, keyed by the row's identity (its primary key, else its
rowid), along the data flows the statements themselves create (:mod:`lightnb.inspect.flows`):
``INSERT INTO new SELECT … FROM old``, ``CREATE TABLE … AS SELECT``, ``UPDATE … SET new =
f(old)``, renames of tables and columns, and chains of those (the 12-step rebuild). An
UPDATE measures the values it really replaces; filling a column the migration itself added
overwrites nothing.

Each :class:`Impact` names the statement it is about (``index``, ``line``): a loss, a move or a
conversion is reported at the DROP that would lose the values, once the whole script has run.
:attr:`Impact.is_loss` tells whether data is gone. Impact kinds, for the lint rules and reports that
consume them (see :data:`LOSS_KINDS` and :data:`FOUND_KINDS`):

``rows_deleted``, ``rows_lost``, ``values_lost``, ``values_overwritten``
    data that is gone after the migration (``count`` rows or values).
``values_moved``, ``values_converted``
    dropped or replaced values found again (``found`` of ``count``) in ``destination``
    (``table.column`` after the migration): as they were, or computed from them.
``column_filled``
    an UPDATE that only writes columns this migration added (nothing earlier is overwritten).
``values_unverified``
    dropped values copied somewhere in a form that cannot be looked up row by row (an expression
    over several tables, without the row identity): neither claimed moved nor lost.
``rows_updated``, ``rows_inserted``
    what a statement touched, for the record.
``not_null_violation``, ``unique_violation``, ``check_violation``, ``fk_violation``, ``orphans``,
``storage_class_changed``, ``error``
    rows a new constraint or a copy would break, and the statement that fails on the copy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from lightnb import signals
from lightnb.backends import sqlite
from lightnb.backends.sqlite import quote, read_catalog, read_columns
from lightnb.catalog import Catalog, Column, Table, primary_key_of
from lightnb.errors import LightnbError
from lightnb.inspect._format import jsonable, short_row
from lightnb.inspect.definition import affinity
from lightnb.inspect.flows import ROWID_NAMES, Flow, select_flows, update_flows
from lightnb.inspect.lineage import bind, known_secrets, mask_copies, statement_lineage
from lightnb.inspect.parsed import parse_statement as _parse
from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor
from lightnb.inspect.touched import checked_tables, table_names, touched_tables

if TYPE_CHECKING:
    import pandas as pd

_SAVEPOINT = "lightnb_impact"
_SRC = "lnb_src"
_SAVED_ROWID = "__lnb_rowid"  # the row identity of a saved rowid table
LOSS_KINDS = frozenset({"rows_deleted", "rows_lost", "values_lost", "values_overwritten"})
"""Impact kinds that mean data is gone after the migration."""
FOUND_KINDS = frozenset({"values_moved", "values_converted", "column_filled"})
"""Impact kinds that say where data went (or that nothing was overwritten): no loss."""


@dataclass(frozen=True, slots=True)
class Impact:
    """One measured effect of one statement.

    :param index: 0-based position of the statement in the script.
    :param line: 1-based line where the statement starts.
    :param kind: rows_deleted, rows_updated, rows_inserted, values_lost, rows_lost,
        not_null_violation, unique_violation, check_violation, fk_violation, orphans,
        storage_class_changed or error.
    :param count: how many rows (or values) are concerned.
    :param example: one concerned row, redacted unless revealed.
    :param message: one sentence for people.
    :param destination: for values_moved / values_converted: where they are now (``table.column``).
    :param found: for values_moved / values_converted: how many of ``count`` were found there.
    :param keyed: for values_moved / values_converted: False when they were found by value only, the rows' identity
        not carried (the values are there, but not which row held which).
    """

    index: int
    line: int
    statement: str
    kind: str
    table: str | None
    column: str | None
    count: int
    example: dict[str, Any] | None
    message: str
    destination: str | None = None
    found: int | None = None
    keyed: bool = True

    @property
    def is_loss(self) -> bool:
        """True when this impact is data gone after the migration (:data:`LOSS_KINDS`, count > 0)."""
        return self.kind in LOSS_KINDS and self.count > 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"index": self.index, "line": self.line, "statement": self.statement, "kind": self.kind,
                "table": self.table, "column": self.column, "count": self.count,
                "example": jsonable(self.example), "message": self.message,
                "destination": self.destination, "found": self.found, "keyed": self.keyed}

    def to_text(self) -> str:
        """Describe the impact in one line (with its example)."""
        text = f"line {self.line}: {self.message}"
        return text + (f" e.g. {short_row(self.example)}" if self.example else "")


def impacts_frame(impacts: Sequence[Impact]) -> pd.DataFrame:
    """Return one row per impact."""
    import pandas as pd

    cols = ["index", "line", "kind", "table", "column", "count", "message", "example", "statement"]
    return pd.DataFrame([{c: getattr(i, c) for c in cols} for i in impacts], columns=cols)


def impacts_text(impacts: Sequence[Impact]) -> str:
    """Return a readable list, one impact per line."""
    if not impacts:
        return "Impact: nothing measurable."
    return "\n".join(["Impact:"] + ["  " + i.to_text() for i in impacts])


@dataclass
class _Drop:
    """A table or columns dropped by one statement, saved in a TEMP table to be judged at the end."""

    st: _Stmt
    gen: int
    table: str
    columns: list[str]
    saved: str
    identity: list[str]
    rows: int
    whole_table: bool


@dataclass
class _Tracked:
    """A flow, with the generations of its source and destination tables (a name can be reused)."""

    flow: Flow
    source_gen: int
    dest_gen: int
    written: str  # the destination as the statement names it

    def rename_column(self, gen: int, old: str, new: str) -> None:
        """Follow ``ALTER TABLE … RENAME COLUMN old TO new`` on the table of generation ``gen``."""
        f = self.flow
        if self.source_gen == gen:
            if f.column == old:
                f.column = new.lower()
            f.carried = {(new.lower() if k == old else k): v for k, v in f.carried.items()}
            f.correlation = tuple(((new.lower() if c == old else c), d) for c, d in f.correlation)
        if self.dest_gen == gen:
            if f.dest_column.lower() == old:
                f.dest_column = new
            f.carried = {k: (new if v.lower() == old else v) for k, v in f.carried.items()}
            f.correlation = tuple((c, (new if d.lower() == old else d)) for c, d in f.correlation)


@dataclass
class _Route:
    """Where a flow's values are after the migration, and how to find one saved row's value there.

    :param keys: (saved column, destination column) pairs carrying the row identity (empty: match by value).
    :param value: SQL of the expected destination value, on the saved row ``s`` (None: only presence is known).
    """

    table: str
    column: str | None
    keys: list[tuple[str, str]]
    value: str | None
    exact: bool

    def join(self) -> str:
        return " AND ".join(f"d.{_ref(dest)} = s.{quote(saved)}" for saved, dest in self.keys) or "1"

    @property
    def measurable(self) -> bool:
        """Whether a saved row's value can be looked for (by identity, or by an exact value)."""
        return self.column is not None and (bool(self.keys) or self.value is not None)

    def found(self, saved: str, column: str | None) -> str:
        """SQL: the rowids of saved rows found in the destination — their ``column`` value, or (None) the row.

        Written as joins, so SQLite indexes the destination on the fly when it has no index.
        """
        target = f"d.{quote(self.column)}" if self.column else "NULL"
        if self.keys:
            cond = "" if column is None else f" WHERE s.{quote(column)} IS NOT NULL AND " + (
                f"{target} IS NOT NULL" if self.value is None else f"{target} IS {self.value}")
            return f"SELECT s.rowid FROM {saved} AS s JOIN main.{quote(self.table)} AS d ON {self.join()}{cond}"
        return (f"SELECT s.rowid FROM {saved} AS s JOIN main.{quote(self.table)} AS d ON {target} = {self.value}"
                + (f" WHERE s.{quote(column)} IS NOT NULL" if column else ""))


def _ref(column: str) -> str:
    return "rowid" if column.lower() in ROWID_NAMES else quote(column)


def _saved_key(column: str) -> str:
    return _SAVED_ROWID if column.lower() in ROWID_NAMES else column


def _cast_of(expression: str | None, column: str) -> str | None:
    """The type of ``expression`` when it is ``CAST(column AS type)`` of ``column`` itself, else None."""
    tree = _parse(expression) if expression else None
    if not isinstance(tree, exp.Cast) or not isinstance(tree.this, exp.Column) \
            or tree.this.name.lower() != column.lower():
        return None
    to = tree.args.get("to")
    return to.sql(dialect="sqlite") if to is not None else None


# SQLite's functions that give many values one result: what they change of a value cannot be read back from it
_MANY_TO_ONE: dict[type[exp.Expr], str] = {
    exp.Length: "length", exp.Lower: "lower", exp.Upper: "upper", exp.Trim: "trim", exp.Abs: "abs",
    exp.Round: "round", exp.Floor: "floor", exp.Ceil: "ceil", exp.Trunc: "trunc", exp.Substring: "substr",
    exp.Sign: "sign", exp.Typeof: "typeof", exp.StrPosition: "instr", exp.Unicode: "unicode", exp.Greatest: "max",
    exp.Least: "min"}
_MANY_TO_ONE_NAMES = frozenset({"octet_length"})  # read as a function sqlglot does not know


def _many_to_one(expression: str | None, column: str) -> str | None:
    """The name of the function ``expression`` is, when it is one that gives many values one result applied to
    ``column`` (``lower(email)``, ``length(body)``), else None."""
    tree = _parse(expression) if expression else None
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if tree is None or not any(isinstance(c, exp.Column) and c.name.lower() == column.lower()
                               for c in tree.find_all(exp.Column)):
        return None
    name = _MANY_TO_ONE.get(type(tree))
    if name is None and isinstance(tree, exp.Anonymous) and tree.name.lower() in _MANY_TO_ONE_NAMES:
        name = tree.name.lower()
    return name


def _reads_back(value: str, cast_to: str) -> str:
    """SQL: whether ``CAST(value AS cast_to)``, cast back to ``value``'s own storage class, is ``value`` again (the
    same bytes for text, whatever the column's collation)."""
    return _reads_back_from(f"CAST({value} AS {cast_to})", value)


def _reads_back_from(converted: str, value: str) -> str:
    """SQL: whether ``converted``, cast back to ``value``'s own storage class, is ``value`` again (the same bytes for
    text, whatever the column's collation)."""
    return (f"CASE typeof({value}) "
            f"WHEN 'integer' THEN CAST({converted} AS INTEGER) IS {value} "
            f"WHEN 'real' THEN CAST({converted} AS REAL) IS {value} "
            f"WHEN 'text' THEN CAST({converted} AS TEXT) IS {value} COLLATE BINARY "
            f"WHEN 'blob' THEN CAST({converted} AS BLOB) IS {value} "
            f"ELSE 1 END")


def _on_saved(expression: str | None) -> str | None:
    """The expression with every column read from the saved row ``s``."""
    if expression is None:
        return None
    tree = _parse(expression)
    if tree is None:
        return None

    def qualify(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            return exp.column(_saved_key(node.name), table="s", quoted=True)
        return node

    return tree.transform(qualify, copy=True).sql(dialect="sqlite")


def _without_rowid(conn: sqlite.Connection, table: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM main.{quote(table)} LIMIT 0")
    except sqlite.OperationalError:
        return True
    return False


@dataclass
class _Stmt:
    text: str
    line: int
    index: int
    tables: set[str] = field(default_factory=set)


@dataclass
class _Measurer:
    conn: sqlite.Connection
    redactor: Redactor
    reveal: bool
    guard: sqlite.guard.Guard
    stop: signals.Stop
    impacts: list[Impact] = field(default_factory=list)
    touched: dict[str, int] = field(default_factory=dict)
    flows: list[_Tracked] = field(default_factory=list)
    drops: list[_Drop] = field(default_factory=list)
    gens: dict[str, int] = field(default_factory=dict)  # current table name (lower) -> generation
    names: dict[int, str | None] = field(default_factory=dict)  # generation -> current name (None: dropped)
    origins: dict[int, str] = field(default_factory=dict)  # generation -> its name when first seen
    added: set[tuple[int, str]] = field(default_factory=set)  # (generation, column) this migration added
    created: set[int] = field(default_factory=set)  # generations this migration created
    temps: list[str] = field(default_factory=list)
    writes: sqlite.Writes | None = None  # what the statements may have written (the authorizer's record)

    # -- helpers ---------------------------------------------------------------------------

    def add(self, st: _Stmt, kind: str, table: str | None, column: str | None, count: int,
            example: dict[str, Any] | None, message: str, *, destination: str | None = None,
            found: int | None = None, keyed: bool = True) -> None:
        # An example may come from a copy (INSERT … SELECT): a column sensitive in any
        # table the statement names is masked.
        if example:
            example = {k: v for k, v in example.items() if k != _SAVED_ROWID}
        extra = [c for c in (example or {}) if any(self.redactor.is_sensitive(c, t) for t in st.tables)]
        shown = self.redactor.row(example, table, reveal=self.reveal, extra=extra) if example else None
        if example and shown and not self.reveal:
            # Lineage as the migration left it so far (a generated column, a trigger's copy), and copies by value.
            here = bind(self.redactor, self.conn)
            shown = mask_copies([here.row(example, table, extra=extra)],
                                known_secrets(self.conn, here, bounded=True))[0]
        text = st.text if self.reveal else self.redactor.message(_mask_literals(st.text, self.redactor, st.tables))
        self.impacts.append(Impact(st.index, st.line, _one_line(text), kind, table, column, count,
                                   shown, message if self.reveal else self.redactor.message(message),
                                   destination, found, keyed))

    # -- table generations: a name reused after a DROP is another table -------------------

    def gen(self, table: str) -> int:
        key = table.lower()
        if key not in self.gens:
            self.gens[key] = len(self.names)
            self.names[self.gens[key]] = table
            self.origins[self.gens[key]] = table
        return self.gens[key]

    def columns_now(self, table: str) -> list[str] | None:
        return [c.name for c in self.columns(table)] if self.exists(table) else None

    def identity(self, table: str) -> list[str]:
        pk = primary_key_of(self.columns(table))
        if pk:
            return list(pk)
        return [] if _without_rowid(self.conn, table) else ["rowid"]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def example(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row)) if row else None

    def exists(self, table: str) -> bool:
        return sqlite.find_object(self.conn, table, ("table",)) is not None

    def columns(self, table: str) -> tuple[Column, ...]:
        return read_columns(self.conn, table)

    def children(self, table: str) -> list[str]:
        out = []
        for t in read_catalog(self.conn).tables:
            if t.virtual:
                continue
            if any(fk.ref_table.lower() == table.lower() for fk in t.foreign_keys) and t.name.lower() != table.lower():
                out.append(t.name)
        return out

    # -- statements ------------------------------------------------------------------------

    def measure(self, st: _Stmt) -> bool:
        """Measure and run one statement; return False when it failed (stop there)."""
        if not self.reveal:  # a column renamed or copied from a masked one stays masked afterwards
            self.redactor = self.redactor.with_derived(statement_lineage(st.text, self.redactor))
        tree = _parse(st.text)
        st.tables = _tables_in(tree)
        before = self._before(st, tree)
        try:
            cursor = self.conn.execute(st.text)
        except sqlite.Error as error:
            self.stop.raise_if_interrupted(error)
            refusal = self.guard.take(st.text) if sqlite.guard.is_refusal(error) else None
            reason = f"is refused: {refusal.problem}" if refusal is not None else f"fails on the copy: {error}"
            self.add(st, "error", _target(tree), None, 0, None,
                     f"statement {st.index + 1} {reason}; the statements after it were not measured.")
            return False
        for name in _tables_in(tree):
            self.touched[name.lower()] = st.index
        self._after(st, tree, cursor.rowcount, before)
        return True

    def _before(self, st: _Stmt, tree: exp.Expr | None) -> dict[str, Any]:
        if isinstance(tree, exp.Update):
            return self._before_dml(tree) | self._before_update(st, tree)
        if isinstance(tree, exp.Delete):
            return self._before_dml(tree)
        if isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() == "TABLE":
            for table in tree.args.get("tables") or []:
                self._save_drop(st, table.name, None)
        elif isinstance(tree, exp.Alter):
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "COLUMN":
                    for column in action.args.get("tables") or []:
                        self._save_drop(st, tree.this.name, column.name)
        elif isinstance(tree, exp.Create) and tree.args.get("unique") and isinstance(tree.this, exp.Index):
            self._new_unique_index(st, tree.this)
        elif isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Query):
            return self._before_insert_select(st, tree)
        elif isinstance(tree, exp.Create) and isinstance(tree.this, exp.Table):
            return {"existed": self.exists(tree.this.name)}
        return {}

    def _after(self, st: _Stmt, tree: exp.Expr | None, rowcount: int, before: dict[str, Any]) -> None:
        if isinstance(tree, exp.Delete):
            table = tree.this.name
            self.add(st, "rows_deleted", table, None, max(rowcount, 0), before.get("example"),
                     f"{max(rowcount, 0)} row(s) of {table} deleted.")
            self._cascades(st, before.get("children", {}))
        elif isinstance(tree, exp.Update):
            table = tree.this.name
            self.add(st, "rows_updated", table, None, max(rowcount, 0), before.get("example"),
                     f"{max(rowcount, 0)} row(s) of {table} updated (example shows the row before).")
            self._after_update(st, tree, max(rowcount, 0), before)
            self._cascades(st, before.get("children", {}))
        elif isinstance(tree, exp.Insert):
            table = _insert_table(tree)
            self.add(st, "rows_inserted", table, None, max(rowcount, 0), None,
                     f"{max(rowcount, 0)} row(s) inserted into {table}.")
            if "types" in before:
                self._storage_classes(st, table, before)
        elif isinstance(tree, exp.Create) and isinstance(tree.this, exp.Table):
            name = tree.this.name
            if before.get("existed"):
                return  # CREATE TABLE IF NOT EXISTS on a table that was there: nothing new
            self.gens.pop(name.lower(), None)
            self.created.add(self.gen(name))
            if isinstance(tree.expression, exp.Query) and self.exists(name):
                self._track(select_flows(st.index, tree.expression, name, self.columns_now(name) or [],
                                         self.columns_now), name)
        elif isinstance(tree, exp.Alter):
            self._after_alter(tree)
        elif isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() == "TABLE":
            for table in tree.args.get("tables") or []:
                if table.name.lower() in self.gens and not self.exists(table.name):
                    self.names[self.gens.pop(table.name.lower())] = None

    def _after_alter(self, tree: exp.Alter) -> None:
        """Follow renames and added columns, so flows and drops keep pointing at the right table and column."""
        table = tree.this.name
        gen = self.gen(table)
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                new = action.this.name
                self.gens.pop(table.lower(), None)
                self.gens[new.lower()] = gen
                self.names[gen] = new
            elif isinstance(action, exp.RenameColumn):
                old, new = action.this.name.lower(), action.args["to"].name
                for tracked in self.flows:
                    tracked.rename_column(gen, old, new)
                if (gen, old) in self.added:
                    self.added.discard((gen, old))
                    self.added.add((gen, new.lower()))
            elif isinstance(action, exp.ColumnDef):
                self.added.add((gen, action.name.lower()))

    def _track(self, flows: list[Flow], written: str) -> None:
        for flow in flows:
            self.flows.append(_Tracked(flow, self.gen(flow.source), self.gen(flow.dest), written))

    # -- DELETE / UPDATE -------------------------------------------------------------------

    def _before_dml(self, tree: exp.Expr) -> dict[str, Any]:
        table = tree.this.name
        where = tree.args.get("where")
        cond = f" WHERE {where.this.sql(dialect='sqlite')}" if where is not None else ""
        try:
            example = self.example(f"SELECT * FROM {quote(table)}{cond} LIMIT 1")
        except sqlite.Error as error:
            self.stop.raise_if_interrupted(error)  # stopped (a signal, the time limit): not a failure
            example = None
        children = {c: self.one(f"SELECT count(*) FROM {quote(c)}") for c in self.children(table)}
        return {"example": example, "children": children}

    def _cascades(self, st: _Stmt, children: dict[str, int]) -> None:
        for child, count in children.items():
            if not self.exists(child):
                continue
            now = self.one(f"SELECT count(*) FROM {quote(child)}")
            if now < count:
                self.add(st, "rows_deleted", child, None, count - now, None,
                         f"{count - now} row(s) of {child} deleted by ON DELETE CASCADE.")

    # -- UPDATE: what it really overwrites ---------------------------------------------------

    def _before_update(self, st: _Stmt, tree: exp.Update) -> dict[str, Any]:
        """Record the flows of the UPDATE and save the values it may overwrite (pre-existing columns)."""
        table = tree.this.name
        if not self.exists(table):
            return {}
        gen = self.gen(table)
        self._track(update_flows(st.index, tree, self.columns_now), table)
        targets = [a.this.name for a in tree.expressions if isinstance(a, exp.EQ) and isinstance(a.this, exp.Column)]
        fresh = [c for c in targets if gen in self.created or (gen, c.lower()) in self.added]
        kept = [c for c in targets if c not in fresh]
        saved = None
        identity = self.identity(table)
        if kept and identity:
            where = tree.args.get("where")
            cond = f" WHERE {where.this.sql(dialect='sqlite')}" if where is not None else ""
            saved = self._temp()
            keys = ", ".join(f"{_ref(k)} AS {quote(_saved_key(k))}" for k in identity)
            try:
                self.conn.execute(f"CREATE TEMP TABLE {quote(saved)} AS SELECT {keys}, "
                                  f"{', '.join(quote(c) for c in kept)} FROM main.{quote(table)}{cond}")
            except sqlite.Error as error:
                self.stop.raise_if_interrupted(error)  # stopped (a signal, the time limit): not a failure
                saved = None
        return {"fresh": fresh, "kept": kept, "saved": saved, "identity": identity}

    def _after_update(self, st: _Stmt, tree: exp.Update, rowcount: int, before: dict[str, Any]) -> None:
        table = tree.this.name
        fresh, kept = before.get("fresh", []), before.get("kept", [])
        if fresh and not kept and rowcount:
            self.add(st, "column_filled", table, ", ".join(fresh), rowcount, None,
                     f"{rowcount} row(s) of {table} given a value in {', '.join(fresh)}, which this migration "
                     f"added: no earlier value is overwritten.")
        saved = before.get("saved")
        if not saved or not self.exists(table):
            return
        join = " AND ".join(f"t.{_ref(k)} = s.{quote(_saved_key(k))}" for k in before["identity"])
        in_place = {c.lower() for a in tree.expressions if isinstance(a, exp.EQ) and isinstance(a.this, exp.Column)
                    for c in [a.this.name]
                    if any(x.name.lower() == c.lower() for x in a.expression.find_all(exp.Column))}
        for column in kept:
            changed = self.one(f"SELECT count(*) FROM temp.{quote(saved)} AS s JOIN main.{quote(table)} AS t ON {join} "
                               f"WHERE s.{quote(column)} IS NOT t.{quote(column)}")
            if not changed:
                continue
            lost = self.one(f"SELECT count(*) FROM temp.{quote(saved)} AS s JOIN main.{quote(table)} AS t ON {join} "
                            f"WHERE s.{quote(column)} IS NOT t.{quote(column)} AND s.{quote(column)} IS NOT NULL")
            example = self.example(f"SELECT s.* FROM temp.{quote(saved)} AS s JOIN main.{quote(table)} AS t ON {join} "
                                   f"WHERE s.{quote(column)} IS NOT t.{quote(column)} LIMIT 1")
            if column.lower() in in_place:
                self.add(st, "values_converted", table, column, changed, example,
                         f"{changed} value(s) of {table}.{column} converted in place (computed from the value "
                         f"they replace).", destination=f"{table}.{column}", found=changed)
                self._merged_in_place(st, tree, table, column, saved, join)
            elif lost:
                self.add(st, "values_overwritten", table, column, lost, example,
                         f"{lost} non-null value(s) of {table}.{column} overwritten (example shows the value "
                         f"before).")

    def _merged_in_place(self, st: _Stmt, tree: exp.Update, table: str, column: str, saved: str, join: str) -> None:
        """The values an UPDATE converted in place that cannot be told from what they became
        (:meth:`_lost_in_conversion`)."""
        expression = next((a.expression.sql(dialect="sqlite") for a in tree.expressions
                           if isinstance(a, exp.EQ) and isinstance(a.this, exp.Column)
                           and a.this.name.lower() == column.lower()), "")
        pairs = (f"SELECT s.rowid AS r, s.{quote(column)} AS old, t.{quote(column)} AS new "
                 f"FROM temp.{quote(saved)} AS s JOIN main.{quote(table)} AS t ON {join} "
                 f"WHERE s.{quote(column)} IS NOT NULL")
        lost, at, why = self._lost_in_conversion(pairs, _many_to_one(expression, column))
        if lost:
            self.add(st, "values_lost", table, column, lost,
                     self.example(f"SELECT * FROM temp.{quote(saved)} WHERE rowid = {at}"),
                     f"{lost} non-null value(s) of {table}.{column} lost in the conversion {expression} in place: "
                     f"{why}.", destination=f"{table}.{column}")

    # -- DROP TABLE / DROP COLUMN: saved now, judged after the whole migration -----------------

    def _temp(self) -> str:
        name = f"lnb_impact_{len(self.temps)}"
        self.temps.append(name)
        return name

    def _save_drop(self, st: _Stmt, table: str, column: str | None) -> None:
        if not self.exists(table):
            return
        cols = [c.name for c in self.columns(table)]
        if column is not None:
            match = next((c for c in cols if c.lower() == column.lower()), None)
            if match is None:
                return
            dropped = [match]
        else:
            dropped = cols
        identity = self.identity(table)
        saved = self._temp()
        rowid = f"rowid AS {quote(_SAVED_ROWID)}, " if identity == ["rowid"] else ""
        self.conn.execute(f"CREATE TEMP TABLE {quote(saved)} AS SELECT {rowid}* FROM main.{quote(table)}")
        rows = self.one(f"SELECT count(*) FROM temp.{quote(saved)}")
        self.drops.append(_Drop(st, self.gen(table), table, dropped, saved, identity, rows, column is None))

    def judge_drops(self) -> None:
        """After the whole migration: say, for each dropped column, what was found again and what is lost."""
        for drop in self.drops:
            if drop.gen in self.created:
                continue  # a table this migration made (a copy on the way): its values existed nowhere before
            candidates = [t for t in self.flows if t.source_gen == drop.gen and t.flow.index < drop.st.index]
            if drop.whole_table:
                self._judge_rows(drop, candidates)
            for column in drop.columns:
                self._judge_column(drop, column, [t for t in candidates if t.flow.column == column.lower()],
                                   carried_rows=drop.whole_table and bool(candidates))

    def _judge_rows(self, drop: _Drop, candidates: list[_Tracked]) -> None:
        """A dropped table's rows: deleted with it, or copied (all, or some) somewhere else first."""
        saved = f"temp.{quote(drop.saved)}"
        table = self.origins.get(drop.gen, drop.table)
        example = self.example(f"SELECT * FROM {saved} LIMIT 1")
        keyed = [(t, route) for t in candidates if (route := self._route(t, drop)) is not None and route.keys]
        if not candidates:
            self.add(drop.st, "rows_deleted", table, None, drop.rows, example,
                     f"{drop.rows} row(s) of {table} deleted with the table.")
            return
        if not keyed or not drop.rows:
            return
        best = max(keyed, key=lambda item: self._rows_found(drop, item[1]))
        found = self._rows_found(drop, best[1])
        if found < drop.rows:
            missing = self.example(f"SELECT * FROM {saved} WHERE rowid NOT IN ({best[1].found(saved, None)}) LIMIT 1")
            self.add(drop.st, "rows_lost", table, None, drop.rows - found, missing,
                     f"{drop.rows - found} row(s) of {table} were not copied into {best[0].written} before "
                     f"the drop.", destination=best[1].table, found=found)

    def _rows_found(self, drop: _Drop, route: _Route) -> int:
        return self.one(f"SELECT count(DISTINCT rowid) FROM ({route.found(f'temp.{quote(drop.saved)}', None)})")

    def _judge_column(self, drop: _Drop, column: str, candidates: list[_Tracked], *, carried_rows: bool) -> None:
        saved = f"temp.{quote(drop.saved)}"
        table = self.origins.get(drop.gen, drop.table)  # as the table was named before the migration
        total = self.one(f"SELECT count({quote(column)}) FROM {saved}")
        if not total:
            return
        where_lost = f"s.{quote(column)} IS NOT NULL"
        best: tuple[int, _Tracked, _Route] | None = None
        unmeasured: list[_Tracked] = []
        for tracked in candidates:
            route = self._route(tracked, drop)
            if route is None or route.column is None:
                continue
            if not route.measurable:
                unmeasured.append(tracked)
                continue
            try:
                found = self.one(f"SELECT count(DISTINCT rowid) FROM ({route.found(saved, column)})")
            except sqlite.Error as error:
                self.stop.raise_if_interrupted(error)  # stopped (a signal, the time limit): not a failure
                unmeasured.append(tracked)  # e.g. an expression reading a column renamed since
                continue
            if best is None or found > best[0]:
                best = (found, tracked, route)
        if best is None and unmeasured:
            written = ", ".join(dict.fromkeys(t.written for t in unmeasured))
            self.add(drop.st, "values_unverified", table, column, total, None,
                     f"{total} value(s) of {table}.{column} were copied into {written} in a form lightnb cannot "
                     f"look up row by row; not counted as lost.")
            return
        if best is None:
            siblings = [t for t in self.flows if t.source_gen == drop.gen and t.flow.index < drop.st.index]
            why = "table dropped" if drop.whole_table else "column dropped"
            if candidates:
                why = (f"copied only into {', '.join(dict.fromkeys(t.written for t in candidates))}, which no "
                       f"longer holds it after the migration")
            elif siblings and drop.whole_table:
                why = f"not copied into {siblings[-1].written}"
            example = self.example(f"SELECT * FROM {saved} AS s WHERE {where_lost} LIMIT 1")
            self.add(drop.st, "values_lost", table, column, total, example,
                     f"{total} non-null value(s) of {table}.{column} lost ({why}).")
            return
        found, tracked, route = best
        destination = f"{route.table}.{route.column}"
        stays = route.table.lower() in (table.lower(), drop.table.lower()) and route.column is not None \
            and route.column.lower() == column.lower() \
            and not tracked.flow.converts
        if found and not stays:
            how = (f"converted into {destination} ({found}/{total} values found as {tracked.flow.expression})"
                   if tracked.flow.converts and route.exact else
                   f"converted into {destination} ({found}/{total} rows hold a value computed from it)"
                   if tracked.flow.converts else
                   f"moved to {destination} ({found}/{total} values found"
                   + ("" if route.keys else ", matched by value: the rows' identity was not carried") + ")")
            self.add(drop.st, "values_converted" if tracked.flow.converts else "values_moved", table, column,
                     total, None, f"{total} value(s) of {table}.{column} {how}.",
                     destination=destination, found=found,
                     # a column dropped from rows that stay: which row held which value matters; a table copied
                     # whole keeps each value with the rest of its row
                     keyed=bool(route.keys) or drop.whole_table)
        lost = total - found
        values_found = route.found(saved, column)
        if carried_rows and route.keys and lost:
            # values of rows that were not copied at all are counted once, as rows_lost
            lost = self.one(f"SELECT count(*) FROM {saved} WHERE {quote(column)} IS NOT NULL "
                            f"AND rowid IN ({route.found(saved, None)}) AND rowid NOT IN ({values_found})")
        if lost > 0:
            example = self.example(f"SELECT * FROM {saved} WHERE {quote(column)} IS NOT NULL "
                                   f"AND rowid NOT IN ({values_found}) LIMIT 1")
            why = "table dropped" if drop.whole_table else "column dropped"
            self.add(drop.st, "values_lost", table, column, lost, example,
                     f"{lost} non-null value(s) of {table}.{column} lost ({why}; {found}/{total} found in "
                     f"{destination}).", destination=destination, found=found)
        if found and not tracked.flow.converts and route.keys and route.column is not None:
            self._judge_affinity(drop, table, column, route, destination, values_found, found)
        if not (found and tracked.flow.converts and route.exact and route.value is not None):
            return
        cast_to = _cast_of(tracked.flow.expression, column)
        if cast_to is not None:
            self._judge_cast(drop, table, column, route, tracked.flow.expression or "", cast_to, values_found, found)
        else:
            self._judge_merged(drop, table, column, destination, tracked.flow.expression or "", route.value,
                               values_found, found)

    def _judge_affinity(self, drop: _Drop, table: str, column: str, route: _Route, destination: str,
                        values_found: str, found: int) -> None:
        """The values copied unchanged into a column of another type affinity that SQLite stored as another value:
        text that looks like a number is stored as that number (``'007'`` as 7, ``' 5'`` as 5, ``'4.0'`` as 4), an
        integer in a REAL column as a REAL (rounded past 2^53). Those that do not read back as they were are lost;
        the comparison that found them (``IS``, under the columns' affinities) took ``'007'`` and 7 as equal."""
        saved = f"temp.{quote(drop.saved)}"
        saved_table = sqlite.read_table(self.conn, drop.saved, "temp")
        source = saved_table.column(column) if saved_table is not None else None
        target = next((c for c in self.columns(route.table) if c.name.lower() == (route.column or "").lower()), None)
        if source is None or target is None or affinity(source.type) == affinity(target.type):
            return  # the same affinity: a value is stored as it was
        changed, at = self._not_read_back(drop, column, route, target.name, values_found)
        if not changed:
            return
        example = self.example(f"SELECT * FROM {saved} WHERE rowid = {at}")
        self.add(drop.st, "values_lost", table, column, changed, example,
                 f"{changed} non-null value(s) of {table}.{column} lost in the copy into {destination} "
                 f"({target.type or 'no declared type'}: {affinity(target.type)} affinity): SQLite stored them as "
                 f"other values, which do not read back as they were ({found - changed}/{found} do).",
                 destination=destination, found=found - changed)

    def _not_read_back(self, drop: _Drop, column: str, route: _Route, target: str, values_found: str
                       ) -> tuple[int, int | None]:
        """Count the found values of ``column`` that the destination column ``target`` (joined by the rows' identity)
        holds as values that do not read back as they were; return (count, one of their saved rows)."""
        old = f"s.{quote(column)}"
        found = self.conn.execute(
            f"SELECT count(*), min(s.rowid) FROM temp.{quote(drop.saved)} AS s JOIN main.{quote(route.table)} AS d "
            f"ON {route.join()} WHERE {old} IS NOT NULL AND s.rowid IN ({values_found}) "
            f"AND NOT ({_reads_back_from(f'd.{quote(target)}', old)})").fetchone()
        return found[0], found[1]

    def _judge_merged(self, drop: _Drop, table: str, column: str, destination: str, expression: str, converted: str,
                      values_found: str, found: int) -> None:
        """The values a conversion carried into ``destination`` that cannot be told from what they became
        (:meth:`_lost_in_conversion`). A conversion that gives every value its own result is judged by whether its
        values were found."""
        saved = f"temp.{quote(drop.saved)}"
        value = f"s.{quote(column)}"
        pairs = (f"SELECT s.rowid AS r, {value} AS old, ({converted}) AS new FROM {saved} AS s "
                 f"WHERE {value} IS NOT NULL AND s.rowid IN ({values_found})")
        changed, at, why = self._lost_in_conversion(pairs, _many_to_one(expression, column))
        if changed:
            example = self.example(f"SELECT * FROM {saved} WHERE rowid = {at}")
            self.add(drop.st, "values_lost", table, column, changed, example,
                     f"{changed} non-null value(s) of {table}.{column} lost in the conversion {expression}: {why} "
                     f"({found - changed}/{found} kept).", destination=destination, found=found - changed)

    def _lost_in_conversion(self, pairs: str, function: str | None) -> tuple[int, int | None, str]:
        """Count the values of ``pairs`` (``r``: a row, ``old``: its value, ``new``: what the conversion made of it)
        that cannot be told from what they became, in one pass; return (count, one of their rows, why).

        Under a function that gives many values one result (``length``, ``lower``, ``trim``, ``round`` …), every
        value it changed (one it left as it was, the same text or the same number, is kept); under any other
        conversion, the values that became the same as another value (``cents / 100`` in integers: 1234 and 1299
        both 12), compared to the letter (``quote``: storage class and bytes, not the column's collation).
        """
        if function is not None:
            row = self.conn.execute(f"SELECT count(*), min(r) FROM ({pairs}) "
                                    f"WHERE NOT (new IS old COLLATE BINARY)").fetchone()
            return row[0], row[1], f"{function} gives many values the same result, and these it changed"
        row = self.conn.execute(
            f"WITH m AS MATERIALIZED (SELECT r, quote(old) AS v, quote(new) AS c, "
            f"new IS old COLLATE BINARY AS same FROM ({pairs})), "
            f"g AS (SELECT c FROM m GROUP BY c HAVING min(v) <> max(v)) "
            f"SELECT count(*), min(m.r) FROM m JOIN g ON g.c = m.c WHERE NOT m.same").fetchone()
        return row[0], row[1], "different values became the same, and cannot be told apart any more"

    def _judge_cast(self, drop: _Drop, table: str, column: str, route: _Route, expression: str, cast_to: str,
                    values_found: str, found: int) -> None:
        """The values a ``CAST(column AS cast_to)`` carried into ``route``'s column that it did not keep: those that do
        not read back as they were (cast back to their own storage class: ``'x'`` became 0, ``'007'`` 7, ``4.5`` 4,
        a large integer a rounded REAL). With the rows' identity carried, what the column holds is read back (the
        CAST and the column's own affinity both: ``CAST('007' AS TEXT)`` stored in an INTEGER column is 7); else the
        CAST alone."""
        saved = f"temp.{quote(drop.saved)}"
        destination = f"{route.table}.{route.column}"
        value = f"s.{quote(column)}"
        if route.keys and route.column is not None:
            changed, at = self._not_read_back(drop, column, route, route.column, values_found)
        else:
            changed, at = self.conn.execute(
                f"SELECT count(*), min(s.rowid) FROM {saved} AS s WHERE {value} IS NOT NULL "
                f"AND s.rowid IN ({values_found}) AND NOT ({_reads_back(value, cast_to)})").fetchone()
        if not changed:
            return
        example = self.example(f"SELECT * FROM {saved} WHERE rowid = {at}")
        self.add(drop.st, "values_lost", table, column, changed, example,
                 f"{changed} non-null value(s) of {table}.{column} lost in the conversion {expression} into "
                 f"{destination}: they do not read back as they were ({found - changed}/{found} do).",
                 destination=destination,
                 found=found - changed)

    def _route(self, tracked: _Tracked, drop: _Drop) -> _Route | None:
        """Follow a flow (and the copies after it) to the table and column that hold its values now."""
        flow = tracked.flow
        if flow.same_row:
            keys = [(k, k) for k in drop.identity]
        elif flow.correlation:
            keys = list(flow.correlation)
        elif drop.identity and all(k.lower() in flow.carried for k in drop.identity):
            keys = [(k, flow.carried[k.lower()]) for k in drop.identity]
        else:
            keys = []
        gen, column, index = tracked.dest_gen, flow.dest_column, flow.index
        for _hop in range(8):
            if self.names.get(gen) is not None:
                break
            nxt = next((t for t in self.flows if t.source_gen == gen and t.flow.index > index
                        and t.flow.column == column.lower() and not t.flow.converts
                        and all(d.lower() in t.flow.carried for _s, d in keys)), None)
            if nxt is None:
                return None
            keys = [(s, nxt.flow.carried[d.lower()]) for s, d in keys]
            gen, column, index = nxt.dest_gen, nxt.flow.dest_column, nxt.flow.index
        table = self.names.get(gen)
        if table is None or not self.exists(table):
            return None
        present = next((c for c in self.columns_now(table) or [] if c.lower() == column.lower()), None)
        exact = not flow.converts or flow.evaluable
        value = None
        if present is not None:
            value = f"s.{quote(flow.column)}" if not flow.converts else _on_saved(flow.expression) if exact else None
        return _Route(table, present, [(_saved_key(s) if s.lower() in ROWID_NAMES else s, d) for s, d in keys],
                      value, exact)

    # -- new constraints -------------------------------------------------------------------

    def _new_unique_index(self, st: _Stmt, index: exp.Index) -> None:
        table = index.args["table"].name
        params = index.args.get("params")
        if params is None or not self.exists(table):
            return
        exprs = [o.this.sql(dialect="sqlite") if isinstance(o, exp.Ordered) else o.sql(dialect="sqlite")
                 for o in params.args.get("columns") or []]
        where = params.args.get("where")
        cond = " AND ".join([f"({e}) IS NOT NULL" for e in exprs]
                            + ([f"({where.this.sql(dialect='sqlite')})"] if where is not None else []))
        self._duplicates(st, table, exprs, f"FROM {quote(table)} WHERE {cond}",
                         f"new UNIQUE index {index.name} on {table}")

    def _duplicates(self, st: _Stmt, table: str, exprs: list[str], source: str, what: str,
                    example_table: str | None = None) -> None:
        keys = ", ".join(exprs)
        row = self.conn.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n {source} "
                                f"GROUP BY {keys} HAVING count(*) > 1)").fetchone()
        groups, rows = row
        if groups:
            first = self.conn.execute(f"SELECT {keys} {source} GROUP BY {keys} HAVING count(*) > 1 "
                                      f"LIMIT 1").fetchone()
            match = " AND ".join(f"({e}) IS ?" for e in exprs)
            example = self.example(f"SELECT * {source} AND {match} LIMIT 1", first)
            self.add(st, "unique_violation", example_table or table, None, rows - groups, example,
                     f"{rows - groups} row(s) of {table} would violate the {what} "
                     f"({groups} duplicated value(s)).")

    def _before_insert_select(self, st: _Stmt, tree: exp.Insert) -> dict[str, Any]:
        table = _insert_table(tree)
        if not self.exists(table):
            return {}
        info = self.columns(table)
        given = [i.name for i in tree.this.expressions] if isinstance(tree.this, exp.Schema) else \
            [c.name for c in info]
        select = tree.expression.sql(dialect="sqlite")
        cte = f"WITH {_SRC}({', '.join(quote(c) for c in given)}) AS ({select}) "
        src = f"FROM {_SRC}"
        try:
            self.conn.execute(f"{cte}SELECT * {src} LIMIT 0").fetchall()
        except sqlite.Error as error:
            self.stop.raise_if_interrupted(error)  # stopped (a signal, the time limit): not a failure
            return {}
        self._track(select_flows(st.index, tree.expression, table, given, self.columns_now), table)
        conflict = tree.args.get("alternative") or tree.args.get("conflict")
        if not conflict:
            self._insert_checks(st, table, info, given, cte, src)
        types = {c: dict(self.conn.execute(f"{cte}SELECT typeof({quote(c)}), count(*) {src} GROUP BY 1").fetchall())
                 for c in given}
        dest = {c: dict(self.conn.execute(f"SELECT typeof({quote(c)}), count(*) FROM {quote(table)} GROUP BY 1")
                        .fetchall())
                for c in given}
        return {"types": types, "dest_types": dest, "cte": cte}

    def _insert_checks(self, st: _Stmt, table: str, info: Sequence[Column], given: list[str], cte: str,
                       src: str) -> None:
        lower_given = {c.lower() for c in given}
        record = sqlite.read_table(self.conn, table)
        if record is None:
            return
        rowid_alias = _rowid_alias_of(record)
        for column in info:
            name, notnull, default = column.name, column.notnull, column.default
            if not notnull or (rowid_alias and name.lower() == rowid_alias.lower()):
                continue
            if name.lower() in lower_given:
                cond = f"{quote(name)} IS NULL"
            elif default is None:
                cond = "1"
            else:
                continue
            count = self.one(f"{cte}SELECT count(*) {src} WHERE {cond}")
            if count:
                self.add(st, "not_null_violation", table, name, count,
                         self.example(f"{cte}SELECT * {src} WHERE {cond} LIMIT 1"),
                         f"{count} row(s) copied into {table} would violate NOT NULL on {name}.")
        for check in _checks(record):
            try:
                count = self.one(f"{cte}SELECT count(*) {src} WHERE NOT ({check})")
            except sqlite.Error as error:
                self.stop.raise_if_interrupted(error)  # stopped (a signal, the time limit): not a failure
                continue
            if count:
                self.add(st, "check_violation", table, None, count,
                         self.example(f"{cte}SELECT * {src} WHERE NOT ({check}) LIMIT 1"),
                         f"{count} row(s) copied into {table} would violate CHECK ({check}).")
        for cols in _unique_sets(record):
            if not all(c.lower() in lower_given for c in cols):
                continue
            self._duplicates_cte(st, table, cols, cte)
        if self.one("PRAGMA foreign_keys"):
            self._insert_fk_checks(st, record, given, cte, src)

    def _duplicates_cte(self, st: _Stmt, table: str, cols: list[str], cte: str) -> None:
        keys = ", ".join(quote(c) for c in cols)
        nonnull = " AND ".join(f"{quote(c)} IS NOT NULL" for c in cols)
        s_nonnull = " AND ".join(f"s.{quote(c)} IS NOT NULL" for c in cols)
        match = " AND ".join(f"d.{quote(c)} = s.{quote(c)}" for c in cols)
        clash_cond = f"{s_nonnull} AND EXISTS (SELECT 1 FROM {quote(table)} AS d WHERE {match})"
        clash = self.one(f"{cte}SELECT count(*) FROM {_SRC} AS s WHERE {clash_cond}")
        # Every row equal to a row already there fails; of equal new rows that meet none, all but one.
        groups, rows = self.conn.execute(
            f"{cte}SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {_SRC} AS s "
            f"WHERE {s_nonnull} AND NOT EXISTS (SELECT 1 FROM {quote(table)} AS d WHERE {match}) "
            f"GROUP BY {', '.join(f's.{quote(c)}' for c in cols)} HAVING count(*) > 1)").fetchone()
        total = rows - groups + clash
        if not total:
            return
        if groups:
            example = self.example(f"{cte}SELECT * FROM {_SRC} WHERE ({keys}) IN (SELECT {keys} FROM {_SRC} "
                                   f"WHERE {nonnull} GROUP BY {keys} HAVING count(*) > 1) LIMIT 1")
        else:
            example = self.example(f"{cte}SELECT s.* FROM {_SRC} AS s WHERE {clash_cond} LIMIT 1")
        self.add(st, "unique_violation", table, ", ".join(cols), total, example,
                 f"{total} row(s) copied into {table} would violate UNIQUE ({', '.join(cols)}).")

    def _insert_fk_checks(self, st: _Stmt, record: Table, given: list[str], cte: str, src: str) -> None:
        table = record.name
        lower_given = {c.lower() for c in given}
        for key in reversed(record.foreign_keys):  # in SQLite's numbering, the last declared first
            parent = key.ref_table
            child_cols = list(key.columns)
            parent_cols = [ref or _rowid_alias(self.conn, parent) or "rowid" for ref in key.ref_columns]
            if not all(c.lower() in lower_given for c in child_cols) or not self.exists(parent):
                continue
            nonnull = " AND ".join(f"s.{quote(c)} IS NOT NULL" for c in child_cols)
            match = " AND ".join(f"p.{quote(pc)} = s.{quote(cc)}" for pc, cc in zip(parent_cols, child_cols))
            cond = f"{nonnull} AND NOT EXISTS (SELECT 1 FROM {quote(parent)} AS p WHERE {match})"
            count = self.one(f"{cte}SELECT count(*) FROM {_SRC} AS s WHERE {cond}")
            if count:
                self.add(st, "fk_violation", table, ", ".join(child_cols), count,
                         self.example(f"{cte}SELECT s.* FROM {_SRC} AS s WHERE {cond} LIMIT 1"),
                         f"{count} row(s) copied into {table} would reference a missing {parent} row.")

    # -- storage classes ----------------------------------------------------------------

    def _storage_classes(self, st: _Stmt, table: str, before: dict[str, Any]) -> None:
        for column, src_types in before["types"].items():
            now = dict(self.conn.execute(f"SELECT typeof({quote(column)}), count(*) FROM {quote(table)} "
                                         f"GROUP BY 1").fetchall())
            old = before["dest_types"][column]
            added = {k: now.get(k, 0) - old.get(k, 0) for k in set(now) | set(old)}
            lost = {k: n - added.get(k, 0) for k, n in src_types.items() if n > added.get(k, 0)}
            gained = [k for k, n in added.items() if n > src_types.get(k, 0)]
            count = sum(lost.values())
            if count:
                cls = next(iter(lost))
                example = self.example(f"{before['cte']}SELECT * FROM {_SRC} WHERE typeof({quote(column)}) = ? "
                                       f"LIMIT 1", (cls,))
                self.add(st, "storage_class_changed", table, column, count, example,
                         f"{count} value(s) of {table}.{column} change storage class "
                         f"({'/'.join(sorted(lost))} -> {'/'.join(sorted(gained)) or '?'}) when copied.")


def measure_impact(target: sqlite.Connection | str | Path, sql: str | Sequence[Any], *,
                   redactor: Redactor | None = None, reveal: bool = False, keep: bool = False,
                   in_place: bool = False, opened: Callable[[sqlite.Connection], None] | None = None
                   ) -> list[Impact]:
    """Run a migration's statements on a copy and measure what each one does to the rows.

    :param target: a connection to a COPY of the database (never production), or the path
        of a database file, which is then copied to a throwaway file first and left untouched.
    :param sql: the script (e.g. an up.sql) or its statements.
    :param redactor: which columns to mask in the examples.
    :param reveal: show sensitive values in the examples; never the default.
    :param keep: commit the statements instead of rolling them back (connections only).
    :param in_place: ``target`` is a path to a copy lightnb made and keeps (a capture's before copy, a
        proof's saved state): it is measured where it is, inside one transaction rolled back at the
        end, instead of on a throwaway copy of it (see :func:`_measurable_in_place` for when; otherwise
        the throwaway copy is made). SQLite's rollback journal puts back every page it changed, also
        after a crash (the next connection rolls the journal back; a read-only one refuses to read):
        the file's bytes are as they were, and its change counter and size are checked to prove it.
    :param opened: called with the connection the measurement opens on a path, before it runs anything (a
        caller in another thread makes it interruptible: :class:`lightnb.reader.Reader`).
    :raises LightnbError: the script cannot be split, or ``keep`` is asked on a path.
    """
    if isinstance(target, (str, Path)):
        if keep:
            raise LightnbError("keep=True needs a connection to a copy; a path is measured on a "
                               "throwaway copy.")
        return measure_impacts(target, [sql], redactor=redactor, reveal=reveal, in_place=in_place,
                               opened=opened)[0]
    try:
        return _measured(target, _statements(sql), redactor or DEFAULT_REDACTOR, reveal, keep)
    finally:
        # the caller's connection is left guarded, its own transactions allowed (lightnb's connections to a copy are)
        sqlite.guard.install(target)


def measure_impacts(path: str | Path, scripts: Sequence[str | Sequence[Any]], *, redactor: Redactor | None = None,
                    reveal: bool = False, in_place: bool = False,
                    opened: Callable[[sqlite.Connection], None] | None = None,
                    outside: Sequence[bool] = ()) -> list[list[Impact]]:
    """Measure migrations that run one after the other, each on the state the ones before it leave (a step that
    ran several: the second one's SQL acts on what the first one made), on the database file ``path``.

    All of them run in one transaction rolled back at the end: in place (``in_place``, when every script
    can be, see :func:`measure_impact`) or on one throwaway copy. Returns one list per script, in order; a
    script after one that fails on the copy is not measured (an empty list): the step never ran it there.

    :param outside: for each script, whether it ran outside a transaction (its migration's ``run_in_transaction =
        false``). Such a script with its own transaction control or PRAGMAs is measured as it ran, its own
        ``BEGIN``/``COMMIT`` and ``PRAGMA foreign_keys`` acting as they did (a table rebuild with the foreign keys
        off), statement by statement, on the throwaway copy, with every other script committed there before the
        next one (see :func:`_measured_outside`); without them, one transaction around it changes nothing it does.
    :raises LightnbError: a script cannot be split.
    """
    redactor = redactor or DEFAULT_REDACTOR
    parsed = [_statements(sql) for sql in scripts]
    if any(own and not _in_one_transaction(statements) for own, statements in zip(outside, parsed)):
        return _measured_as_run(Path(path), parsed, [bool(o) for o in outside] + [False] * len(parsed), redactor,
                                reveal, opened)
    if in_place and all(_measurable_in_place(Path(path), statements) for statements in parsed):
        with measuring_in_place(path, redactor, reveal=reveal, opened=opened) as measure:
            return _in_order(measure, parsed)
    from lightnb import scratch

    # A throwaway copy on disk in a private folder (removed on SIGTERM too): memory stays flat
    # however big the file.
    with scratch.folder("impact") as folder:
        conn = sqlite.open_scratch(sqlite.copy_database(path, folder / "copy.db"))
        try:
            if opened is not None:
                opened(conn)
            conn.execute("BEGIN")
            # the script's own BEGIN/COMMIT/ROLLBACK are refused, each failing as its statement (as in
            # diesel's transaction): nothing it runs can end the transaction the measurement rolls back
            return _in_order(lambda statements, last=False: _measured(
                conn, statements, redactor, reveal, keep=False, chain=not last), parsed)
        finally:
            conn.close()


def _measured_as_run(path: Path, parsed: list[list[_Stmt]], outside: list[bool], redactor: Redactor, reveal: bool,
                     opened: Callable[[sqlite.Connection], None] | None) -> list[list[Impact]]:
    """Measure scripts some of which ran outside a transaction (``outside``) on one throwaway copy of ``path``, one
    after the other, each committed there for the next one: those outside a transaction as they ran, the others
    each in a transaction of its own, as diesel runs them."""
    from lightnb import scratch

    with scratch.folder("impact") as folder:
        conn = sqlite.open_scratch(sqlite.copy_database(path, folder / "copy.db"))
        try:
            if opened is not None:
                opened(conn)
            ways = iter(outside)
            return _in_order(lambda statements, last=False: (
                _measured_outside(conn, statements, redactor, reveal) if next(ways) else
                _measured(conn, statements, redactor, reveal, keep=True)), parsed)
        finally:
            conn.close()


def measure_as_run(conn: sqlite.Connection, sql: str | Sequence[Any], *, redactor: Redactor | None = None,
                   reveal: bool = False) -> list[Impact]:
    """Measure a migration that runs outside a transaction (``run_in_transaction = false``) on ``conn``, a throwaway
    copy the caller made and owns, as it runs: its own ``BEGIN``/``COMMIT`` and PRAGMAs acting, what it does
    committed there (see :func:`_measured_outside`).

    :raises LightnbError: the script cannot be split.
    """
    return _measured_outside(conn, _statements(sql), redactor or DEFAULT_REDACTOR, reveal)


def _starting_point(conn: sqlite.Connection, statements: list[_Stmt]
                    ) -> tuple[Catalog, list[str], list[str] | None]:
    """The schema ``statements`` start from, the tables there then, and the tables they can change (their
    foreign-key children included: where orphans can appear; None: any table)."""
    catalog = read_catalog(conn)
    existed = [t.name for t in catalog.tables if not t.virtual]
    checked = checked_tables(conn, touched_tables(conn, [st.text for st in statements])) if statements else []
    return catalog, existed, checked


def _measured_outside(conn: sqlite.Connection, statements: list[_Stmt], redactor: Redactor, reveal: bool
                      ) -> list[Impact]:
    """Measure ``statements`` of a migration that runs outside a transaction on ``conn`` (a throwaway copy in
    autocommit), as the step ran them: statement by statement, its own ``BEGIN``/``COMMIT`` and its
    PRAGMAs (``foreign_keys = OFF`` before a table rebuild: no cascade, no check) acting as they did, under the SQL
    guard (it still refuses what reaches outside the copy). What they did is committed to the copy; a transaction
    they leave open is rolled back, as closing diesel's connection does. A script that rolls back its own statements
    is not measured (:func:`_refuse_undoing`)."""
    _refuse_undoing(statements, (_ROLLBACK, _ROLLBACK_TO))
    with sqlite.interrupting(conn, timed=True) as stop:  # Ctrl-C, SIGTERM and the time limit stop a statement
        outer = getattr(conn, "watched_writes", None)
        writes = outer if outer is not None else sqlite.Writes()
        guard = sqlite.guard.install(conn, writes=writes)
        m = _Measurer(conn, redactor, reveal, guard, stop, writes=writes)
        try:
            catalog, existed, checked = _starting_point(conn, statements)
            baseline = _fk_violations(conn, checked)  # nothing rolls back to the state before: counted now
            try:
                for st in statements:
                    if not m.measure(st):
                        break
                m.judge_drops()
            finally:
                conn.set_authorizer(None)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                for name in m.temps:
                    conn.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")
            _settle_orphans(m, _orphans(m, statements, checked, existed, catalog), baseline)
        except sqlite.Error as error:
            stop.raise_if_interrupted(error)
            raise
    return sorted(m.impacts, key=lambda i: i.index)


# a ROLLBACK of the whole transaction, and a ROLLBACK TO one of the migration's own savepoints
_ROLLBACK = re.compile(r"\s*ROLLBACK(?:\s+TRANSACTION)?\s*(?:;\s*)?$", re.IGNORECASE)
_ROLLBACK_TO = re.compile(r"\s*ROLLBACK(?:\s+TRANSACTION)?\s+TO\b", re.IGNORECASE)


def _refuse_undoing(statements: Sequence[_Stmt], undoing: Sequence[re.Pattern[str]]) -> None:
    """Raise when a statement undoes earlier ones (``undoing``): each statement is measured as it runs, and what a
    ROLLBACK then undoes of it cannot be told apart (its rows would be counted as changed, a dropped column's values
    as lost)."""
    found = next((st for st in statements if any(p.match(st.text) for p in undoing)), None)
    if found is not None:
        raise LightnbError(f"statement {found.index + 1} (line {found.line}) rolls back what the migration's "
                           f"statements before it did: lightnb cannot tell statement by statement what it undoes, so "
                           f"this migration's impact is not measured; see the row diff for what it changed.")


def _in_order(measure: Callable[..., list[Impact]], scripts: Sequence[list[_Stmt]]) -> list[list[Impact]]:
    """Each script measured by ``measure`` after the ones before it (kept for the next; the last one, which none
    follows, is told so); none after one that fails on the copy."""
    found: list[list[Impact]] = []
    failed = False
    for i, statements in enumerate(scripts):
        found.append([] if failed else measure(statements, last=i == len(scripts) - 1))
        failed = failed or any(i.kind == "error" for i in found[-1])
    return found


@contextmanager
def measuring_in_place(path: str | Path, redactor: Redactor, *, reveal: bool = False,
                       opened: Callable[[sqlite.Connection], None] | None = None
                       ) -> Iterator[Callable[..., list[Impact]]]:
    """Open the copy lightnb made at ``path`` for measuring migrations in place, one after the other, in one
    transaction rolled back when the block ends (the file proved unchanged then): yields ``measure(script,
    last=False)``, which measures a script on the state the scripts measured before it leave (``last``: none
    follows it, so what it did need not stay). Only for a file and scripts :func:`measurable_in_place` accepts."""
    path = Path(path)
    before = _header_state(path)
    conn = sqlite.open_scratch(path)
    try:
        if opened is not None:
            opened(conn)
        conn.execute(f"PRAGMA cache_size = -{_IN_PLACE_CACHE_KIB}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            # the script's own BEGIN/COMMIT/ROLLBACK are refused: nothing it runs can end this transaction; each
            # script's statements are kept in it for the next one, and all are rolled back at the end
            yield lambda sql, last=False: _measured(conn, _statements(sql), redactor, reveal, keep=False,
                                                    chain=not last)
        finally:
            conn.set_authorizer(None)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
    finally:
        conn.close()
    if _header_state(path) != before:  # pragma: no cover - would be a lightnb bug
        raise LightnbError(f"Measuring the impact changed the copy {path}; delete it and capture again.")


def _measured(conn: sqlite.Connection, statements: list[_Stmt], redactor: Redactor, reveal: bool, keep: bool, *,
              chain: bool = False) -> list[Impact]:
    """Measure ``statements`` on ``conn`` inside one savepoint, rolled back unless ``keep``.

    The statements' own transaction control (BEGIN, COMMIT, END, ROLLBACK, and RELEASE or ROLLBACK TO of a
    savepoint lightnb or diesel opened) is refused, each failing as its statement, as in diesel's transaction:
    nothing they run can end the measurement's transaction and write what it rolls back. On a connection that
    has no transaction open, the measurement opens one of its own (committed only with ``keep``); the
    connection is left without an authorizer (the caller guards it again).

    With ``chain`` (inside a transaction the caller rolls back: migrations measured one after the other), what the
    statements did stays for the next script, as with ``keep``, but the foreign-key violations the state before
    had are counted only when orphans are found, as without it: rolled back to that state, counted, and the
    statements that ran run again.
    """
    # a ROLLBACK of the whole transaction is refused by the guard (diesel's transaction refuses it too)
    _refuse_undoing(statements, (_ROLLBACK_TO,))
    # Ctrl-C or SIGTERM stop a long statement at once (signals), as does the time limit (lightnb.time_limit); the
    # savepoint is then rolled back.
    with sqlite.interrupting(conn, timed=True) as stop:
        # what the statements may write, recorded as SQLite's authorizer sees them prepared (an outer record, when the
        # caller keeps one, is added to: it only says more)
        outer = getattr(conn, "watched_writes", None)
        writes = outer if outer is not None else sqlite.Writes()
        # a transaction of the measurement's own when none is open: its savepoint is never the outermost one, which
        # a RELEASE would commit
        alone = not conn.in_transaction
        if alone:
            conn.set_authorizer(None)
            conn.execute("BEGIN")
        guard = sqlite.guard.install(conn, transaction_control=False, writes=writes)
        m = _Measurer(conn, redactor, reveal, guard, stop, writes=writes)
        try:
            catalog, existed, checked = _starting_point(conn, statements)
            # rolled back, the copy is in the state before the script again: the violations it had are counted
            # then, only in the tables that have some after it (most often none)
            baseline = _fk_violations(conn, checked) if keep else None
            ran = 0  # the statements that ran, in order (a failing one stops the script)
            found: list[tuple[int, str, str, int]] = []
            completed = False
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                for st in statements:
                    if not m.measure(st):
                        break
                    ran += 1
                m.judge_drops()
                found = _orphans(m, statements, checked, existed, catalog)
                completed = True
            finally:
                for name in m.temps:
                    conn.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")
                conn.set_authorizer(None)  # the guard refuses the end of the transaction
                if keep or (chain and completed and not found):
                    conn.execute(f"RELEASE {_SAVEPOINT}")
                    if alone:
                        conn.execute("COMMIT")
                elif chain and completed:
                    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")  # the savepoint stays: the state before, counted below
                elif alone:
                    # the measurement's own transaction, rolled back as a whole: nothing is committed, so nothing is
                    # written back (releasing a savepoint rolled back to would commit its pages again, and count a
                    # change of the file)
                    conn.execute("ROLLBACK")
                else:
                    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                    conn.execute(f"RELEASE {_SAVEPOINT}")
            if found and baseline is None:
                there = {t.lower() for t in existed}
                baseline = _fk_violations(conn, [t for _at, t, _parent, _n in found if t.lower() in there])
            if chain and found:  # the state the statements left, for the next script: they run again, as they ran,
                # under the same guard
                sqlite.guard.install(conn, transaction_control=False, writes=writes)
                try:
                    for st in statements[:ran]:
                        stop.check()
                        conn.execute(st.text)
                finally:
                    conn.set_authorizer(None)
                conn.execute(f"RELEASE {_SAVEPOINT}")
            _settle_orphans(m, found, baseline or {})
        except BaseException as error:
            if alone and conn.in_transaction:  # failed before its savepoint: the transaction it opened ends here
                conn.set_authorizer(None)
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite.Error):
                stop.raise_if_interrupted(error)
            raise
    return sorted(m.impacts, key=lambda i: i.index)


# First words of statements that act outside one transaction (ending it, changing how the file is
# written, or rewriting it whole): a script with one is measured on a throwaway copy.
_NOT_IN_PLACE = frozenset({"begin", "commit", "end", "rollback", "release", "savepoint", "pragma", "vacuum",
                           "attach", "detach"})
_IN_PLACE_CACHE_KIB = 64 * 1024  # changed pages stay in memory up to this, then spill (journalled) to the file


def measurable_in_place(path: str | Path, sql: str | Sequence[Any]) -> bool:
    """Tell whether :func:`measure_impact` measures ``sql`` on the file ``path`` in place (``in_place=True``)
    rather than on a throwaway copy of it.

    :raises LightnbError: the script cannot be split.
    """
    return _measurable_in_place(Path(path), _statements(sql))


def _measurable_in_place(path: Path, statements: Sequence[_Stmt]) -> bool:
    """Whether ``path`` can be measured in place: a file lightnb made (never another program's, never
    production), in rollback-journal mode (a WAL file's pages would go through its ``-wal``), with no
    journal beside it, and a script without transaction control, PRAGMA, VACUUM or ATTACH."""
    if not path.is_file() or not sqlite.is_own_file(path) or Path(f"{path}-journal").exists():
        return False
    if sqlite.committed_state(path) is None:  # WAL mode (or not a SQLite file)
        return False
    return _in_one_transaction(statements)


def measurable_after(sql: str | Sequence[Any]) -> bool:
    """Tell whether ``sql`` can be measured in place after the scripts a :func:`measuring_in_place` block measured
    (the file was accepted then: only the script is checked).

    :raises LightnbError: the script cannot be split.
    """
    return _in_one_transaction(_statements(sql))


def _in_one_transaction(statements: Sequence[_Stmt]) -> bool:
    """Whether no statement acts outside the one transaction a measurement in place runs in."""
    return all(_first_word(st.text) not in _NOT_IN_PLACE for st in statements)


def _first_word(text: str) -> str:
    words = text.lstrip().split(None, 1)
    return words[0].rstrip(";").lower() if words else ""


def _header_state(path: Path) -> tuple[int, bytes]:
    """The file's size and its header (change counter, page count, schema cookie: what a commit moves)."""
    with open(path, "rb") as handle:
        return os.fstat(handle.fileno()).st_size, handle.read(100)


def _statements(sql: str | Sequence[Any]) -> list[_Stmt]:
    if isinstance(sql, str):
        return [_Stmt(s.text, s.line, i) for i, s in enumerate(sqlite.split(sql))]
    return [_Stmt(getattr(s, "text", s), getattr(s, "line", 1), i) for i, s in enumerate(sql)]




def _target(tree: exp.Expr | None) -> str | None:
    if tree is None:
        return None
    table = tree.find(exp.Table)
    return table.name if table is not None else None


def _tables_in(tree: exp.Expr | None) -> set[str]:
    return {t.name for t in tree.find_all(exp.Table)} if tree is not None else set()


def _insert_table(tree: exp.Insert) -> str:
    return tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name


def _mask_literals(text: str, redactor: Redactor, tables: set[str]) -> str:
    """Mask the string and blob literals of a statement that names a sensitive column."""
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise("sqlite").tokenize(text)
    except sqlglot.errors.SqlglotError:
        return text
    names = [t.text for t in tokens if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER)]
    if not any(redactor.is_sensitive(n, t) for n in names for t in (tables or (None,))):
        return text
    out, last = [], 0
    for token in tokens:
        if token.token_type in (TokenType.STRING, TokenType.HEX_STRING, TokenType.BYTE_STRING):
            out.append(text[last:token.start] + "'" + redactor.mask + "'")
            last = token.end + 1
    return "".join(out) + text[last:]


def _one_line(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _rowid_alias(conn: sqlite.Connection, table: str) -> str | None:
    record = sqlite.read_table(conn, table)
    return _rowid_alias_of(record) if record is not None else None


def _rowid_alias_of(table: Table) -> str | None:
    """The column that is the table's rowid (its INTEGER PRIMARY KEY), or None."""
    pk = [c for c in table.columns if c.pk]
    if len(pk) == 1 and pk[0].type.upper() == "INTEGER" and not table.without_rowid:
        return pk[0].name
    return None


def _checks(table: Table) -> list[str]:
    tree = _parse(table.sql) if table.sql else None
    if tree is None:
        return []
    return [c.this.sql(dialect="sqlite") for c in tree.find_all(exp.CheckColumnConstraint)]


def _unique_sets(table: Table) -> list[list[str]]:
    """The column sets no two rows may share: the rowid alias, then each full UNIQUE index over columns only."""
    out = []
    alias = _rowid_alias_of(table)
    if alias:
        out.append([alias])
    for index in table.indexes:
        if index.unique and not index.partial and "<expr>" not in index.columns:
            out.append(list(index.columns))
    return out


def _fk_violations(conn: sqlite.Connection, tables: Sequence[str] | None) -> dict[str, int]:
    """Foreign-key violations per table (lower-case name), of ``tables`` (every table for None)."""
    counts: dict[str, int] = {}
    for table, *_rest in _foreign_key_check(conn, tables):
        counts[table.lower()] = counts.get(table.lower(), 0) + 1
    return counts


def _foreign_key_check(conn: sqlite.Connection, tables: Sequence[str] | None) -> list[tuple]:
    if tables is None:
        return conn.execute("PRAGMA foreign_key_check").fetchall()
    return [row for table in tables for row in conn.execute(f"PRAGMA foreign_key_check({quote(table)})").fetchall()]


def _orphans(m: _Measurer, statements: list[_Stmt], checked: Sequence[str] | None,
             existed: Sequence[str], before: Catalog | None = None) -> list[tuple[int, str, str, int]]:
    """Report the rows that violate a foreign key after the script, per table, with an example read now;
    return each report's place in ``m.impacts``, table, parent and count (see :func:`_settle_orphans`).

    :param checked: the tables the script can change (:mod:`lightnb.inspect.touched`), as they were
        before it, or None for every table. The other tables that were there keep their violations; a
        table the script made (created, or renamed to a new name) is checked too.
    :param existed: the tables there before the script.
    :param before: the schema before the script: with what the statements may have written (``m.writes``), only
        the tables where a row may have come to violate a key are checked (:mod:`lightnb.inspect.kept_keys`).
    """
    if not statements:
        return []
    now = None
    if checked is not None:
        wanted, old = {t.lower() for t in checked}, {t.lower() for t in existed}
        now = [t for t in table_names(m.conn) if t.lower() in wanted or t.lower() not in old]
    if before is not None:
        from lightnb.inspect.kept_keys import key_suspects
        suspects = key_suspects(m.writes, [before, read_catalog(m.conn)], [st.text for st in statements])
        if suspects is not None:
            now = [t for t in (now if now is not None else table_names(m.conn)) if t.lower() in suspects]
            if not now:
                return []
    rows: dict[str, list[tuple]] = {}
    for table, rowid, parent, _fkid in _foreign_key_check(m.conn, now):
        rows.setdefault(table, []).append((rowid, parent))
    found = []
    for table, violations in sorted(rows.items()):
        parent = violations[0][1]
        last = max(m.touched.get(table.lower(), -1), m.touched.get(parent.lower(), -1))
        st = statements[last] if last >= 0 else statements[-1]
        rowid = violations[0][0]
        example = m.example(f"SELECT * FROM {quote(table)} WHERE rowid = ?", (rowid,)) if rowid is not None else None
        m.add(st, "orphans", table, None, len(violations), example, _orphans_message(len(violations), table, parent))
        found.append((len(m.impacts) - 1, table, parent, len(violations)))
    return found


def _settle_orphans(m: _Measurer, found: list[tuple[int, str, str, int]], baseline: dict[str, int]) -> None:
    """Keep the orphans reports of :func:`_orphans` that count more violations than ``baseline`` (before the
    script), counting only the new ones."""
    for at, table, parent, count in reversed(found):
        new = count - baseline.get(table.lower(), 0)
        if new <= 0:
            del m.impacts[at]
            continue
        message = _orphans_message(new, table, parent)
        m.impacts[at] = replace(m.impacts[at], count=new,
                                message=message if m.reveal else m.redactor.message(message))


def _orphans_message(count: int, table: str, parent: str) -> str:
    return (f"{count} row(s) of {table} reference a missing {parent} row after the migration "
            f"(PRAGMA foreign_key_check).")
