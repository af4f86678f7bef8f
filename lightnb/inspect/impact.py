"""Measure what each statement of a migration does to the rows of a copy.

Every statement runs for real, inside one SAVEPOINT that is rolled back at the end
(unless ``keep=True``), on a connection to a copy of the database, under lightnb's SQL guard
(:mod:`lightnb.sqlguard`: no ATTACH of another file, no VACUUM INTO outside the copy). Around each
statement, set-wise SQL counts: rows deleted, updated and inserted (``changes()``,
plus cascades seen in child tables); non-null values lost by a dropped column or
table (a table whose rows were first copied elsewhere by ``INSERT … SELECT`` only
loses what was not copied — the 12-step rebuild); rows that would break a new NOT
NULL, UNIQUE, CHECK or FOREIGN KEY constraint; values whose storage class changes
when copied into a column of another type; and, over the whole script, orphans
reported by ``PRAGMA foreign_key_check``. Statements are read with sqlglot.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from lightnb import signals, sqlguard
from lightnb.errors import LightnbError
from lightnb.inspect._format import jsonable, short_row
from lightnb.inspect._sql import q, table_columns, user_tables
from lightnb.inspect.redact import DEFAULT_REDACTOR, Redactor

if TYPE_CHECKING:
    import pandas as pd

_SAVEPOINT = "lightnb_impact"
_SRC = "lnb_src"


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

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {"index": self.index, "line": self.line, "statement": self.statement, "kind": self.kind,
                "table": self.table, "column": self.column, "count": self.count,
                "example": jsonable(self.example), "message": self.message}

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
class _Copy:
    """Rows of a table copied elsewhere by INSERT … SELECT (or CREATE … AS SELECT)."""

    dest: str
    columns: set[str]
    rows: int


@dataclass
class _Stmt:
    text: str
    line: int
    index: int
    tables: set[str] = field(default_factory=set)


@dataclass
class _Measurer:
    conn: sqlite3.Connection
    redactor: Redactor
    reveal: bool
    guard: sqlguard.Guard
    stop: signals.Stop
    impacts: list[Impact] = field(default_factory=list)
    copies: dict[str, _Copy] = field(default_factory=dict)
    touched: dict[str, int] = field(default_factory=dict)

    # -- helpers ---------------------------------------------------------------------------

    def add(self, st: _Stmt, kind: str, table: str | None, column: str | None, count: int,
            example: dict[str, Any] | None, message: str) -> None:
        # An example may come from a copy (INSERT … SELECT): a column sensitive in any
        # table the statement names is masked.
        extra = [c for c in (example or {}) if any(self.redactor.is_sensitive(c, t) for t in st.tables)]
        shown = self.redactor.row(example, table, reveal=self.reveal, extra=extra) if example else None
        text = st.text if self.reveal else _mask_literals(st.text, self.redactor, st.tables)
        self.impacts.append(Impact(st.index, st.line, _one_line(text), kind, table, column, count,
                                   shown, message))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def example(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        cursor = self.conn.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row)) if row else None

    def exists(self, table: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                                 (table,)).fetchone() is not None

    def columns(self, table: str) -> list[tuple]:
        return table_columns(self.conn, table)

    def children(self, table: str) -> list[str]:
        out = []
        for t in user_tables(self.conn):
            refs = self.conn.execute(f"PRAGMA foreign_key_list({q(t)})").fetchall()
            if any(r[2].lower() == table.lower() for r in refs) and t.lower() != table.lower():
                out.append(t)
        return out

    # -- statements ------------------------------------------------------------------------

    def measure(self, st: _Stmt) -> bool:
        """Measure and run one statement; return False when it failed (stop there)."""
        tree = _parse(st.text)
        st.tables = _tables_in(tree)
        before = self._before(st, tree)
        try:
            cursor = self.conn.execute(st.text)
        except sqlite3.Error as error:
            self.stop.raise_if_interrupted(error)
            refusal = self.guard.take(st.text) if sqlguard.is_refusal(error) else None
            reason = f"is refused: {refusal.problem}" if refusal is not None else f"fails on the copy: {error}"
            self.add(st, "error", _target(tree), None, 0, None,
                     f"statement {st.index + 1} {reason}; the statements after it were not measured.")
            return False
        for name in _tables_in(tree):
            self.touched[name.lower()] = st.index
        self._after(st, tree, cursor.rowcount, before)
        return True

    def _before(self, st: _Stmt, tree: exp.Expression | None) -> dict[str, Any]:
        if isinstance(tree, (exp.Delete, exp.Update)):
            return self._before_dml(tree)
        if isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() == "TABLE":
            for table in tree.args.get("tables") or []:
                self._dropped_table(st, table.name)
        elif isinstance(tree, exp.Alter):
            for action in tree.args.get("actions") or []:
                if isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "COLUMN":
                    for column in action.args.get("tables") or []:
                        self._dropped_column(st, tree.this.name, column.name)
        elif isinstance(tree, exp.Create) and tree.args.get("unique") and isinstance(tree.this, exp.Index):
            self._new_unique_index(st, tree.this)
        elif isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Query):
            return self._before_insert_select(st, tree)
        return {}

    def _after(self, st: _Stmt, tree: exp.Expression | None, rowcount: int, before: dict[str, Any]) -> None:
        if isinstance(tree, exp.Delete):
            table = tree.this.name
            self.add(st, "rows_deleted", table, None, max(rowcount, 0), before.get("example"),
                     f"{max(rowcount, 0)} row(s) of {table} deleted.")
            self._cascades(st, before.get("children", {}))
        elif isinstance(tree, exp.Update):
            table = tree.this.name
            self.add(st, "rows_updated", table, None, max(rowcount, 0), before.get("example"),
                     f"{max(rowcount, 0)} row(s) of {table} updated (example shows the row before).")
            self._cascades(st, before.get("children", {}))
        elif isinstance(tree, exp.Insert):
            table = _insert_table(tree)
            self.add(st, "rows_inserted", table, None, max(rowcount, 0), None,
                     f"{max(rowcount, 0)} row(s) inserted into {table}.")
            if "types" in before:
                self._storage_classes(st, table, before, rowcount)
        elif isinstance(tree, exp.Create) and isinstance(tree.this, exp.Table) \
                and isinstance(tree.expression, exp.Query):
            self._record_copy(tree.this.name, tree.expression, self.one(f"SELECT count(*) FROM {q(tree.this.name)}"))

    # -- DELETE / UPDATE -------------------------------------------------------------------

    def _before_dml(self, tree: exp.Expression) -> dict[str, Any]:
        table = tree.this.name
        where = tree.args.get("where")
        cond = f" WHERE {where.this.sql(dialect='sqlite')}" if where is not None else ""
        try:
            example = self.example(f"SELECT * FROM {q(table)}{cond} LIMIT 1")
        except sqlite3.Error:
            example = None
        children = {c: self.one(f"SELECT count(*) FROM {q(c)}") for c in self.children(table)}
        return {"example": example, "children": children}

    def _cascades(self, st: _Stmt, children: dict[str, int]) -> None:
        for child, count in children.items():
            if not self.exists(child):
                continue
            now = self.one(f"SELECT count(*) FROM {q(child)}")
            if now < count:
                self.add(st, "rows_deleted", child, None, count - now, None,
                         f"{count - now} row(s) of {child} deleted by ON DELETE CASCADE.")

    # -- DROP TABLE / DROP COLUMN ----------------------------------------------------------

    def _dropped_table(self, st: _Stmt, table: str) -> None:
        if not self.exists(table):
            return
        cols = [c[1] for c in self.columns(table)]
        copy = self.copies.get(table.lower())
        rows = self.one(f"SELECT count(*) FROM {q(table)}")
        lost_cols = [c for c in cols if copy is None or c.lower() not in copy.columns]
        if copy is None:
            self.add(st, "rows_deleted", table, None, rows, self.example(f"SELECT * FROM {q(table)} LIMIT 1"),
                     f"{rows} row(s) of {table} deleted with the table.")
        elif rows > copy.rows:
            self.add(st, "rows_lost", table, None, rows - copy.rows, None,
                     f"{rows - copy.rows} row(s) of {table} were not copied into {copy.dest} before the drop.")
        for c in lost_cols:
            self._values_lost(st, table, c, "table dropped" if copy is None else f"not copied into {copy.dest}")

    def _dropped_column(self, st: _Stmt, table: str, column: str) -> None:
        if self.exists(table):
            self._values_lost(st, table, column, "column dropped")

    def _values_lost(self, st: _Stmt, table: str, column: str, why: str) -> None:
        count = self.one(f"SELECT count({q(column)}) FROM {q(table)}")
        if count:
            example = self.example(f"SELECT * FROM {q(table)} WHERE {q(column)} IS NOT NULL LIMIT 1")
            self.add(st, "values_lost", table, column, count, example,
                     f"{count} non-null value(s) of {table}.{column} lost ({why}).")

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
        self._duplicates(st, table, exprs, f"FROM {q(table)} WHERE {cond}",
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
            [c[1] for c in info]
        select = tree.expression.sql(dialect="sqlite")
        cte = f"WITH {_SRC}({', '.join(q(c) for c in given)}) AS ({select}) "
        src = f"FROM {_SRC}"
        try:
            self.conn.execute(f"{cte}SELECT * {src} LIMIT 0").fetchall()
        except sqlite3.Error:
            return {}
        self._record_copy(table, tree.expression, None)
        conflict = tree.args.get("alternative") or tree.args.get("conflict")
        if not conflict:
            self._insert_checks(st, table, info, given, cte, src)
        types = {c: dict(self.conn.execute(f"{cte}SELECT typeof({q(c)}), count(*) {src} GROUP BY 1").fetchall())
                 for c in given}
        dest = {c: dict(self.conn.execute(f"SELECT typeof({q(c)}), count(*) FROM {q(table)} GROUP BY 1").fetchall())
                for c in given}
        return {"types": types, "dest_types": dest, "cte": cte}

    def _insert_checks(self, st: _Stmt, table: str, info: list[tuple], given: list[str], cte: str, src: str) -> None:
        lower_given = {c.lower() for c in given}
        rowid_alias = _rowid_alias(self.conn, table)
        for _cid, name, _type, notnull, default, _pk in info:
            if not notnull or (rowid_alias and name.lower() == rowid_alias.lower()):
                continue
            if name.lower() in lower_given:
                cond = f"{q(name)} IS NULL"
            elif default is None:
                cond = "1"
            else:
                continue
            count = self.one(f"{cte}SELECT count(*) {src} WHERE {cond}")
            if count:
                self.add(st, "not_null_violation", table, name, count,
                         self.example(f"{cte}SELECT * {src} WHERE {cond} LIMIT 1"),
                         f"{count} row(s) copied into {table} would violate NOT NULL on {name}.")
        for check in _checks(self.conn, table):
            try:
                count = self.one(f"{cte}SELECT count(*) {src} WHERE NOT ({check})")
            except sqlite3.Error:
                continue
            if count:
                self.add(st, "check_violation", table, None, count,
                         self.example(f"{cte}SELECT * {src} WHERE NOT ({check}) LIMIT 1"),
                         f"{count} row(s) copied into {table} would violate CHECK ({check}).")
        for cols in _unique_sets(self.conn, table):
            if not all(c.lower() in lower_given for c in cols):
                continue
            self._duplicates_cte(st, table, cols, cte)
        if self.one("PRAGMA foreign_keys"):
            self._insert_fk_checks(st, table, given, cte, src)

    def _duplicates_cte(self, st: _Stmt, table: str, cols: list[str], cte: str) -> None:
        keys = ", ".join(q(c) for c in cols)
        nonnull = " AND ".join(f"{q(c)} IS NOT NULL" for c in cols)
        s_nonnull = " AND ".join(f"s.{q(c)} IS NOT NULL" for c in cols)
        groups, rows = self.conn.execute(
            f"{cte}SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {_SRC} "
            f"WHERE {nonnull} GROUP BY {keys} HAVING count(*) > 1)").fetchone()
        match = " AND ".join(f"d.{q(c)} = s.{q(c)}" for c in cols)
        clash_cond = f"{s_nonnull} AND EXISTS (SELECT 1 FROM {q(table)} AS d WHERE {match})"
        clash = self.one(f"{cte}SELECT count(*) FROM {_SRC} AS s WHERE {clash_cond}")
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

    def _insert_fk_checks(self, st: _Stmt, table: str, given: list[str], cte: str, src: str) -> None:
        lower_given = {c.lower() for c in given}
        groups: dict[int, list[tuple]] = {}
        for r in self.conn.execute(f"PRAGMA foreign_key_list({q(table)})").fetchall():
            groups.setdefault(r[0], []).append(r)
        for parts in groups.values():
            parent = parts[0][2]
            child_cols = [p[3] for p in parts]
            parent_cols = [p[4] or _rowid_alias(self.conn, parent) or "rowid" for p in parts]
            if not all(c.lower() in lower_given for c in child_cols) or not self.exists(parent):
                continue
            nonnull = " AND ".join(f"s.{q(c)} IS NOT NULL" for c in child_cols)
            match = " AND ".join(f"p.{q(pc)} = s.{q(cc)}" for pc, cc in zip(parent_cols, child_cols))
            cond = f"{nonnull} AND NOT EXISTS (SELECT 1 FROM {q(parent)} AS p WHERE {match})"
            count = self.one(f"{cte}SELECT count(*) FROM {_SRC} AS s WHERE {cond}")
            if count:
                self.add(st, "fk_violation", table, ", ".join(child_cols), count,
                         self.example(f"{cte}SELECT s.* FROM {_SRC} AS s WHERE {cond} LIMIT 1"),
                         f"{count} row(s) copied into {table} would reference a missing {parent} row.")

    # -- copies and storage classes --------------------------------------------------------

    def _record_copy(self, dest: str, select: exp.Expression, rows: int | None) -> None:
        source = select.find(exp.Table)
        if source is None:
            return
        src = source.name
        if any(isinstance(p, exp.Star) for p in select.expressions) if hasattr(select, "expressions") else False:
            cols = {c[1].lower() for c in self.columns(src)} if self.exists(src) else set()
        else:
            cols = {c.name.lower() for c in select.find_all(exp.Column)}
        self.copies[src.lower()] = _Copy(dest, cols, rows if rows is not None else -1)

    def _storage_classes(self, st: _Stmt, table: str, before: dict[str, Any], rowcount: int) -> None:
        src_name = next((s for s, c in self.copies.items() if c.dest == table and c.rows == -1), None)
        if src_name is not None:
            self.copies[src_name].rows = max(rowcount, 0)
        for column, src_types in before["types"].items():
            now = dict(self.conn.execute(f"SELECT typeof({q(column)}), count(*) FROM {q(table)} "
                                         f"GROUP BY 1").fetchall())
            old = before["dest_types"][column]
            added = {k: now.get(k, 0) - old.get(k, 0) for k in set(now) | set(old)}
            lost = {k: n - added.get(k, 0) for k, n in src_types.items() if n > added.get(k, 0)}
            gained = [k for k, n in added.items() if n > src_types.get(k, 0)]
            count = sum(lost.values())
            if count:
                cls = next(iter(lost))
                example = self.example(f"{before['cte']}SELECT * FROM {_SRC} WHERE typeof({q(column)}) = ? "
                                       f"LIMIT 1", (cls,))
                self.add(st, "storage_class_changed", table, column, count, example,
                         f"{count} value(s) of {table}.{column} change storage class "
                         f"({'/'.join(sorted(lost))} -> {'/'.join(sorted(gained)) or '?'}) when copied.")


def measure_impact(target: sqlite3.Connection | str | Path, sql: str | Sequence[str], *,
                   redactor: Redactor | None = None, reveal: bool = False, keep: bool = False) -> list[Impact]:
    """Run a migration's statements on a copy and measure what each one does to the rows.

    :param target: a connection to a COPY of the database (never production), or the path
        of a database file, which is then copied to a throwaway file first and left untouched.
    :param sql: the script (e.g. an up.sql) or its statements.
    :param redactor: which columns to mask in the examples.
    :param reveal: show sensitive values in the examples; never the default.
    :param keep: commit the statements instead of rolling them back (connections only).
    :raises LightnbError: the script cannot be split, or ``keep`` is asked on a path.
    """
    redactor = redactor or DEFAULT_REDACTOR
    if isinstance(target, (str, Path)):
        if keep:
            raise LightnbError("keep=True needs a connection to a copy; a path is measured on a "
                               "throwaway copy.")
        from lightnb import scratch
        from lightnb.workspace import backup, open_readonly

        # A throwaway copy on disk in a private folder (removed on SIGTERM too): memory stays flat
        # however big the file.
        with scratch.folder("impact") as folder:
            source = open_readonly(target)
            try:
                copy = backup(source, folder / "copy.db")
            finally:
                source.close()
            conn = sqlite3.connect(str(copy), isolation_level=None)
            try:
                return measure_impact(conn, sql, redactor=redactor, reveal=reveal)
            finally:
                conn.close()
    conn = target
    statements = _statements(sql)
    # Ctrl-C or SIGTERM stop a long statement at once (signals); the savepoint is then rolled back.
    with signals.interrupting(conn) as stop:
        m = _Measurer(conn, redactor, reveal, sqlguard.install(conn), stop)
        try:
            baseline = _fk_violations(conn)
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            try:
                for st in statements:
                    if not m.measure(st):
                        break
                _orphans(m, baseline, statements)
            finally:
                if not keep:
                    conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
        except sqlite3.Error as error:
            stop.raise_if_interrupted(error)
            raise
    return sorted(m.impacts, key=lambda i: i.index)


def _statements(sql: str | Sequence[str]) -> list[_Stmt]:
    from lightnb.sqlscript import split

    if isinstance(sql, str):
        return [_Stmt(s.text, s.line, i) for i, s in enumerate(split(sql))]
    return [_Stmt(getattr(s, "text", s), getattr(s, "line", 1), i) for i, s in enumerate(sql)]


def _parse(text: str) -> exp.Expression | None:
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)  # triggers parse as Command with a warning; that is fine
    try:
        return sqlglot.parse_one(text, read="sqlite")
    except sqlglot.errors.SqlglotError:
        return None
    finally:
        logger.setLevel(level)


def _target(tree: exp.Expression | None) -> str | None:
    if tree is None:
        return None
    table = tree.find(exp.Table)
    return table.name if table is not None else None


def _tables_in(tree: exp.Expression | None) -> set[str]:
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
    if not any(redactor.is_sensitive(n, t) for n in names for t in (tables or {None})):
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


def _rowid_alias(conn: sqlite3.Connection, table: str) -> str | None:
    pk = [c for c in table_columns(conn, table) if c[5]]
    if len(pk) == 1 and (pk[0][2] or "").upper() == "INTEGER":
        without = conn.execute("SELECT sql FROM sqlite_master WHERE name = ? COLLATE NOCASE", (table,)).fetchone()
        if without and "WITHOUT ROWID" not in " ".join((without[0] or "").upper().split()):
            return pk[0][1]
    return None


def _checks(conn: sqlite3.Connection, table: str) -> list[str]:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                       (table,)).fetchone()
    tree = _parse(row[0]) if row and row[0] else None
    if tree is None:
        return []
    return [c.this.sql(dialect="sqlite") for c in tree.find_all(exp.CheckColumnConstraint)]


def _unique_sets(conn: sqlite3.Connection, table: str) -> list[list[str]]:
    out = []
    alias = _rowid_alias(conn, table)
    if alias:
        out.append([alias])
    for _seq, name, unique, _origin, partial in conn.execute(f"PRAGMA index_list({q(table)})").fetchall():
        if unique and not partial:
            cols = [r[2] for r in conn.execute(f"PRAGMA index_info({q(name)})").fetchall()]
            if all(cols):
                out.append(cols)
    return out


def _fk_violations(conn: sqlite3.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, *_rest in conn.execute("PRAGMA foreign_key_check").fetchall():
        counts[table.lower()] = counts.get(table.lower(), 0) + 1
    return counts


def _orphans(m: _Measurer, baseline: dict[str, int], statements: list[_Stmt]) -> None:
    if not statements:
        return
    rows: dict[str, list[tuple]] = {}
    for table, rowid, parent, _fkid in m.conn.execute("PRAGMA foreign_key_check").fetchall():
        rows.setdefault(table, []).append((rowid, parent))
    for table, found in sorted(rows.items()):
        new = len(found) - baseline.get(table.lower(), 0)
        if new <= 0:
            continue
        parent = found[0][1]
        last = max(m.touched.get(table.lower(), -1), m.touched.get(parent.lower(), -1))
        st = statements[last] if last >= 0 else statements[-1]
        rowid = found[0][0]
        example = m.example(f"SELECT * FROM {q(table)} WHERE rowid = ?", (rowid,)) if rowid is not None else None
        m.add(st, "orphans", table, None, new, example,
              f"{new} row(s) of {table} reference a missing {parent} row after the migration "
              f"(PRAGMA foreign_key_check).")
